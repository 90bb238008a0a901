// Package policies embeds fleetc's default Rego policy bundle: the legal,
// freeze, window and sign-off rules that apply when a monorepo has no
// policies/ directory of its own. The .rego files here are also the
// reference for policy authors; see docs/policies.md.
package policies

import "embed"

// FS holds every .rego file of the bundle, tests included, at its path
// relative to this directory (e.g. "legal.rego").
//
//go:embed *.rego
var FS embed.FS
