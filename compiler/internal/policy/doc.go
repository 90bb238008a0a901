// Package policy is fleetc's gate: every candidate change a store would
// receive passes through the Rego policies of the monorepo's policies/
// directory (or the embedded default bundle) before it is rendered.
//
// Load compiles the bundle once in a sandbox (no network, no runtime, no
// randomness), discovers every deny_, defer_, signoff_ and warn_ rule of
// every fleetc.* package with its source position, and prepares one query
// that evaluates them all. Decide evaluates many inputs in parallel with
// the clock pinned to the compile's --now, memoising by the parts of the
// input the policies actually read, and folds the rule results into a
// verdict: deny > defer > needs-signoff > allow. Anything unexpected - a
// runtime error, a malformed message - fails closed: Decide returns an
// error and the caller changes nothing.
//
// RunTests runs the bundle's *_test.rego files for `fleetc policy test`.
// The input document, rule conventions and sandbox are described in
// docs/policies.md.
package policy
