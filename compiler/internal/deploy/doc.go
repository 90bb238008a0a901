// Package deploy is the deploy tree as data: the rollout state kept in
// .fleetc/state.json (stores grouped into profiles), the rendered tree as
// a set of files, an incremental writer that rewrites only what changed
// through a journal (a failed or interrupted write leaves the old tree or
// the new one, never a mix), and the plan that says what a new state
// changes against the previous one.
//
// It knows nothing about Flux or YAML; package render turns a State into a
// Tree.
package deploy
