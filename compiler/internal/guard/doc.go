// Package guard keeps a bad input from becoming a fleet-wide change. It
// holds two of the compiler's stages (docs/guards.md):
//
//   - Halts (stop the line) run before the policy gate: the halts the
//     fleet declares, and those the previous deploy tree recorded whose
//     lift the sign-off has not accepted yet, hold every change of the
//     apps and rings they name, through the gate's Halt hook.
//   - Mass runs after the gate, on the desired state: a compile that
//     would remove apps from, or stop rendering, more stores than
//     settings.guard.massChange allows fails with the causes named,
//     unless a signed mass-change override covers it.
//
// Both return the decisions they add to .fleetc/decisions.jsonl: a halt
// started, in force or lifted; a mass change let through; every
// (store, app) pair of a store that left the inventory (decommission).
package guard
