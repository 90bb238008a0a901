// Package target decides which app goes to which store, at which version
// and with which values.
//
// Resolve works in passes over the stores, each parallel over store
// chunks and each writing only its own stores' slots, so the result does
// not depend on the number of workers:
//
//  1. store facts and group membership (explicit list ∪ geo prefixes ∪
//     selector; a group's selector may not test group membership);
//  2. each store's ring (exactly one, else a "ring-membership" error) and
//     the apps whose target selector matches;
//  3. variants: merged values depend only on (app, version, which of the
//     app's override groups the store is in, the store's own values for
//     the app), so each distinct combination is merged and hashed once and
//     every store that shares it shares one *Variant;
//  4. dependencies: a store that gets an app but not one it depends on is
//     reported once per (app, dependency) with a count and examples.
//
// Result.Explain answers "why is app X (not) on store Y" for one pair by
// re-evaluating that store with explanations switched on.
package target
