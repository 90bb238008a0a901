// Package github implements forge.Forge for GitHub and GitHub Enterprise
// Server with go-github: pull requests found by head and base branch,
// reviews (latest verdict per user, with the commit it was given on),
// commit statuses, merges that name the head SHA, and raw file reads.
package github
