// Package gitea implements forge.Forge for Gitea and Forgejo with the
// Gitea SDK: pull requests found by head and base branch, reviews (latest
// verdict per user with the commit it was given on), commit statuses,
// merges that name the head commit, and raw file reads. Its tests run a
// real Gitea built by scripts/gitea.sh.
package gitea
