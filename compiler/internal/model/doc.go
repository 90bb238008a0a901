// Package model holds the fleet as plain Go types: stores, groups, apps,
// rings, freezes, windows, overrides and teams. Nothing here knows about CUE;
// the load package decodes CUE into these types and records source
// positions, and every later stage reads them.
//
// JSON field names are the CUE field names authors write in inventory/,
// apps/ and rings/ (see schemas/fleet.cue); keep the two in step.
package model
