// Package load turns the monorepo's CUE fleet files into a *model.Fleet.
//
// Fleet files are fleet.cue at the repository root and every *.cue file
// under inventory/, apps/ and rings/. Each file is parsed and evaluated on
// its own, in a fresh cue.Context, unified with #File from the schemas
// (the repository's schemas/ module, or the copy embedded in the binary),
// validated concrete and decoded to Go by looking fields up by name
// (decodeValue; MarshalJSON would order every struct's fields first, a
// third of the time, for nothing a Go struct needs). Evaluating the whole
// inventory as one CUE value is superlinear and is never done. Files are
// handed to the workers largest first, and the GC runs at GOGC=400 while
// they are evaluated (unless GOGC is set): CUE makes much short-lived
// garbage over a small live heap.
//
// Every finding is a diagnostic at the user's own file: CUE errors are
// placed at a position inside the fleet file (never a schema line), with a
// field path written in CUE syntax with list indices in brackets, e.g.
// stores."nyc-0001".timezone or apps.pos.dependsOn[1]. Checks that need
// one entity at a time (timezones, app sources, freeze periods) run per
// file; checks across files (duplicate ids, unknown references, dependency
// cycles, ring order, settings) run after all files are decoded.
//
// Diagnostic codes (stable): syntax (parse errors), schema (CUE errors
// against #File), import (a fleet file imports something other than the
// standard library), schema-invalid (the repository's own schemas/ do not
// load), unknown-timezone, app-source, group-empty, freeze-time,
// freeze-order, duplicate-<kind> (store, group, app, ring, freeze,
// override, team, settings; at the second declaration with the first as
// Related), duplicate-ring-order, unknown-<kind> (store, group, app, ring,
// team, freeze) and dependency-cycle; the input checks of limits.go and
// checkinput.go (docs/fleet-input.md): too-large, too-deep, binary,
// encoding, empty-file, more-errors, version, invalid-id (and app-source
// for charts, paths, URLs, tag prefixes and images).
//
// Entities with errors are left out of the returned fleet; references to
// them are not reported again as unknown.
//
// A file's outcome (fileResult) depends only on the schema and the file's
// name and bytes, so it is cached by content hash when Options.CacheDir
// is set: the key is sha256 over the schema module's files, loaderVersion,
// the Go release (the embedded tz database), a fingerprint of the Go types
// stored, the file's name and its bytes. Entries hold the result in a
// compact binary form (codec.go) that keeps positions, refs, nil versus
// empty and json.Number, so a warm load is deep-equal to a cold one,
// diagnostics included (files with errors are cached too). Entries are
// written to a temporary file and renamed; one that is truncated, foreign
// or fails its checksum is a miss and is rewritten.
//
// Next to each result the cache holds the file's summary under the same
// key (CacheDir/load-summary/): the ids and jurisdictions of the stores it
// declares and whether it holds anything else. LoadStore (explain) reads
// every file and its summary, and decodes only the files that declare the
// store or anything but stores; it returns no view, with the reason,
// whenever its answer could differ from Load's for that store.
package load
