package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// Approvals are the approvals of the merge request, as read from the
// --approvals file: {"approvals":[{"user":"alice","commit":"<sha>"}]}.
// Each approval names the commit it was given on; it counts only for a
// compile of that commit.
type Approvals struct {
	Users []Approval `json:"approvals"`

	path string // where they were read, for diagnostics
}

// Approval is one user's approval of one commit.
type Approval struct {
	User   string `json:"user"`
	Commit string `json:"commit,omitempty"`
}

// ApprovalSet is what the policies see as input.approvals: the users whose
// approvals count and the teams they make up. Both are sorted.
type ApprovalSet struct {
	Users []string
	Teams []string
}

// ReadApprovals reads an approvals file.
func ReadApprovals(path string) (*Approvals, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	var a Approvals
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("read approvals %s: %w", path, err)
	}
	a.path = path
	return &a, nil
}

// Resolve maps the approvals of commit, the commit being compiled, to the
// teams their users belong to. An approval that names no commit or
// another one is stale, and a user no team lists is unknown: both are
// reported as warnings (who, which commit) and never counted. An empty
// commit counts nothing.
func (a *Approvals) Resolve(teams []*model.Team, commit string) (ApprovalSet, diag.List) {
	var set ApprovalSet
	var diags diag.List
	if a == nil {
		return set, nil
	}
	teamsOf := map[string][]string{}
	for _, t := range teams {
		for _, m := range t.Members {
			teamsOf[m] = append(teamsOf[m], t.Name)
		}
	}
	pos := diag.Pos{File: a.path}
	seenTeam := map[string]bool{}
	seenUser := map[string]bool{}
	for i, ap := range a.Users {
		path := fmt.Sprintf("approvals[%d]", i)
		switch {
		case ap.User == "":
			diags.Warnf(pos, path, "approval-user", "approval without a user is ignored")
			continue
		case ap.Commit == "":
			diags.Warnf(pos, path, "approval-stale", "approval by %s names no commit, so it cannot be for %s, the commit being compiled; it does not count (give each approval the commit it was given on)", ap.User, orUnknown(commit))
			continue
		case commit == "" || !strings.EqualFold(ap.Commit, commit):
			diags.Warnf(pos, path, "approval-stale", "approval by %s was given on commit %s, not on %s, the commit being compiled; it does not count", ap.User, ap.Commit, orUnknown(commit))
			continue
		}
		ts, ok := teamsOf[ap.User]
		if !ok {
			diags.Warnf(pos, path, "approval-unknown-user", "%s approved but is not a member of any team; the approval does not count", ap.User)
			continue
		}
		if !seenUser[ap.User] {
			seenUser[ap.User] = true
			set.Users = append(set.Users, ap.User)
		}
		for _, t := range ts {
			if !seenTeam[t] {
				seenTeam[t] = true
				set.Teams = append(set.Teams, t)
			}
		}
	}
	slices.Sort(set.Users)
	slices.Sort(set.Teams)
	return set, diags
}

func orUnknown(commit string) string {
	if commit == "" {
		return "(unknown)"
	}
	return commit
}

// ValidCommit reports whether s is a full git object name (40 or 64
// hexadecimal digits).
func ValidCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
