// Package forge is the contract between fleetc's publish and sign-off
// stages and the code forges that host the deploy repository: GitHub,
// GitLab and Gitea/Forgejo implement Forge in the packages below this one.
// Plain git has no forge: publish pushes and skips the merge request.
//
// Tokens come from the environment and never appear in errors or output.
// Implementations retry transient failures (5xx, connection resets) with
// backoff, respect rate limits (Retry-After, X-RateLimit-*), and return
// *APIError for a forge's refusal so callers can show status and message.
package forge

import (
	"context"
	"fmt"
	"time"
)

// MR is the merge request fleetc wants: one per head branch.
type MR struct {
	Base  string // target branch, e.g. main
	Head  string // source branch, e.g. fleetc/rollout
	Title string
	Body  string // markdown
}

// MRInfo is a merge request as the forge has it.
type MRInfo struct {
	Number  int
	URL     string
	HeadSHA string
	State   string // open | closed | merged
	Created bool   // EnsureMR opened it now (false: it existed and was updated)
}

// Approval is one user's latest review verdict on a merge request.
type Approval struct {
	User   string
	Commit string // the head commit the approval was given on ("" when the forge does not say)
	State  string // approved | changes_requested | commented | dismissed
	At     time.Time
}

// StatusState is a commit status state.
type StatusState string

const (
	Pending StatusState = "pending"
	Success StatusState = "success"
	Failure StatusState = "failure"
	Error   StatusState = "error"
)

// Status is one commit status, e.g. context fleetc/signoff. fleetc posts a
// handful of summary statuses per commit, never one per store.
type Status struct {
	Context     string
	State       StatusState
	Description string // short; forges cut long ones (GitHub: 140 chars)
	TargetURL   string
}

// Forge is a code forge hosting the deploy repository.
type Forge interface {
	// Name is github, gitlab or gitea.
	Name() string
	// EnsureMR opens the merge request for mr.Head → mr.Base, or updates the
	// title and body of the open one: never a second one for the same head.
	EnsureMR(ctx context.Context, mr MR) (*MRInfo, error)
	// GetMR returns an open merge request by number.
	GetMR(ctx context.Context, number int) (*MRInfo, error)
	// Approvals returns the latest review state per user.
	Approvals(ctx context.Context, number int) ([]Approval, error)
	// SetStatus sets a commit status on sha.
	SetStatus(ctx context.Context, sha string, st Status) error
	// Merge merges the merge request if its head is still sha.
	Merge(ctx context.Context, number int, sha string) error
}

// APIError is a forge's refusal, with the HTTP status and its message.
type APIError struct {
	Forge   string
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s %s: %d %s", e.Forge, e.Method, e.Path, e.Status, e.Message)
}
