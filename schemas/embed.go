// Package schemas embeds the CUE schemas so fleetc can validate a monorepo
// that has no schemas/ directory of its own ("embedded defaults"). The CUE
// files beside this one are the source of truth.
package schemas

import "embed"

// FS holds fleet.cue and cue.mod/module.cue.
//
//go:embed *.cue cue.mod/module.cue
var FS embed.FS
