// Package gen writes synthetic monorepos for benchmarks and end-to-end
// tests: a fleet of any size (stores, groups, apps, rings, a freeze and
// teams) in the layout fleetc reads, plus the schemas it validates against.
//
// The output is a pure function of Options: the same Seed gives the same
// bytes. CUE text is formatted here directly (no CUE marshalling), so
// 60,000 stores take seconds, and every file validates against #File on its
// own, exactly as fleetc's loader evaluates it.
package gen
