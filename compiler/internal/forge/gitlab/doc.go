// Package gitlab implements forge.Forge for GitLab (gitlab.com and
// self-managed) with client-go: merge requests found by source and target
// branch, approvals, commit statuses, merges that name the head SHA, and
// raw file reads. GitLab approvals carry no commit; see Forge.Approvals for
// how staleness is decided.
package gitlab
