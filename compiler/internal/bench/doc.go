// Package bench holds the naive anchors fleetc's benchmark measures itself
// against, in the same run (docs/perf.md):
//
//   - CUEWhole: the whole fleet evaluated as one CUE value, as `cue export`
//     would — every fleet file in one instance, unified with #File.
//   - OPANaive: one OPA evaluation per (store, app) pair with no reuse: a
//     prepared query, but a Go map input per pair (JSON round-tripped by
//     OPA) and no memo.
//   - KustomizePerStore: a kustomize build of each store's entry point, as
//     a per-store-overlay renderer would do; sampled and extrapolated.
//
// The driver is compiler/cmd/fleetc-bench (make bench).
package bench
