// Package publish brings a compiled deploy tree to the deploy repository and
// opens or refreshes the merge request that operators decide on.
//
// The bulk transfer is git: the tree of the deploy directory is hashed with
// the git CLI into a bare clone kept in a cache directory (so repeated
// publishes fetch and push incrementally), committed on top of the rollout
// branch, and pushed with a lease, so two CI runs that race never overwrite
// each other's unseen work: the loser refetches and commits the same tree on
// top of the winner's commit. A forge (GitHub, GitLab, Gitea; see package
// forge) is used only for the merge request, whose body (Body) summarises
// the change for a person in half a minute: changes per app, version and
// ring, deferred stores and when their windows open, denials with their
// rules, the sign-offs still needed and the blast radius.
//
// Publish never changes the deploy tree on disk and never force-pushes over
// commits it has not seen.
package publish
