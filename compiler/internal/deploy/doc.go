// Package deploy is the deploy tree as data: the rollout state kept in
// .fleetc/state.json, the rendered tree as a set of files, an atomic writer
// that swaps a whole tree into place, and the plan that says what a new
// state changes against the previous one.
//
// It knows nothing about Flux or YAML; package render turns a State into a
// Tree.
package deploy
