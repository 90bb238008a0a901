// Package gate puts every candidate change through the policies and turns
// the verdicts into the desired state.
//
// A candidate is a (store, app) pair that the store runs now (previous
// state) or should run (target): from-version → to-version. Every pair is
// evaluated, unchanged ones too, so a legal deny removes an app a store
// already runs. Verdicts apply as:
//
//	allow          the store gets the target variant (or loses the app)
//	deny           the app must not run here: removed, never silently kept
//	defer          the store keeps exactly what it runs now (a new store gets nothing yet)
//	needs-signoff  held like defer until approvals satisfy the policy
//
// A paused store holds everything it runs like defer; denies still remove.
// A policy error fails closed: Run returns the error and nothing changes.
package gate
