// Package rollout is the stage between targeting and the policy gate that
// walks a new version through the rings on evidence (docs/rollout.md).
//
// Per app it keeps a rollout in .fleetc/state.json: the target version and
// revision, and per ring when it was opened to the target and when it first
// met its gate. A ring k+1 is opened when ring k has the target applied and
// Ready on at least successThreshold of the stores that received it, has
// baked bakeTime since it first did, and has no more failing stores than
// failureBudget. Evidence comes only from a feedback snapshot (Snapshot,
// fleetc compile --feedback): a compile stays a pure function of its
// inputs. Stores that did not report within settings.rollout.staleAfter are
// offline, counted apart; a ring with less than minCoverage reporting waits.
// Stores that have not received the target yet (deferred by a window or a
// freeze, paused) are not in the ring's denominator. A ring whose failures
// exceed its budget halts the rollout: no further ring is opened.
//
// The stage does not change what stores run: it tells the gate which
// (app, ring) pairs are held (Result.Hold), and the gate keeps their
// stores on what they run, with a recorded defer decision.
package rollout
