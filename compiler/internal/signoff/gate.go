package signoff

import (
	"errors"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// Requirements is what the decisions at a head ask of the merge request.
// Counts are of (store, app) pairs: a line of decisions.jsonl that names
// several stores counts once for each.
type Requirements struct {
	Decisions int            `json:"decisions"`
	ByVerdict map[string]int `json:"by_verdict"`
	// Teams maps each team whose sign-off is missing to how many
	// needs-signoff decisions wait for it.
	Teams map[string]int `json:"teams"`
}

// ReadDecisions reads decisions.jsonl (gate.ScanJSONL: a line per group of
// stores whose decisions are equal, or a line per decision as older fleetc
// wrote). Counts are of pairs; a line that names no store counts as one.
// A needs-signoff decision asks for the teams it lists as missing; one
// that lists none falls back to the teams its needs-signoff reasons name.
func ReadDecisions(r io.Reader) (*Requirements, error) {
	req := &Requirements{ByVerdict: map[string]int{}, Teams: map[string]int{}}
	err := gate.ScanJSONL(r, func(d *gate.Decision, stores []string) error {
		if d.Verdict == "" {
			return errors.New("no verdict")
		}
		n := max(len(stores), 1)
		req.Decisions += n
		req.ByVerdict[string(d.Verdict)] += n
		if d.Verdict != policy.NeedsSignoff {
			return nil
		}
		teams := slices.Clone(d.Teams)
		if len(teams) == 0 {
			for _, r := range d.Reasons {
				if r.Verdict == policy.NeedsSignoff {
					teams = append(teams, r.Teams...)
				}
			}
		}
		slices.Sort(teams)
		for _, t := range slices.Compact(teams) {
			if t != "" {
				req.Teams[t] += n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// Verdict is the sign-off gate's answer for one head commit.
type Verdict struct {
	Head     string              `json:"head"`
	Required []string            `json:"required"`           // teams whose sign-off the decisions ask for
	Approved map[string][]string `json:"approved,omitempty"` // required team → members who approved the head
	Missing  []string            `json:"missing"`            // required teams with no approval on the head
	Ignored  []Ignored           `json:"ignored,omitempty"`  // reviews that do not count, and why
}

// Ignored is a review that does not count toward sign-off.
type Ignored struct {
	User   string `json:"user"`
	State  string `json:"state"`
	Commit string `json:"commit,omitempty"`
	Reason string `json:"reason"`
}

// Green reports whether every required team approved the head.
func (v *Verdict) Green() bool { return len(v.Missing) == 0 }

// Evaluate decides sign-off: a required team is satisfied by one member
// whose latest review approves exactly the head commit. Reviews that are
// not approvals, approvals of an older commit (or of a commit the forge
// does not name), and approvals by users in no required team don't count.
func Evaluate(head string, req *Requirements, approvals []forge.Approval, teams []*model.Team) *Verdict {
	v := &Verdict{Head: head, Required: slices.Sorted(maps.Keys(req.Teams)), Approved: map[string][]string{}, Missing: []string{}}
	required := map[string]bool{}
	for _, t := range v.Required {
		required[t] = true
	}
	memberOf := map[string][]string{} // user → required teams
	for _, t := range teams {
		if !required[t.Name] {
			continue
		}
		for _, m := range t.Members {
			memberOf[m] = append(memberOf[m], t.Name)
		}
	}
	for _, a := range approvals {
		ig := Ignored{User: a.User, State: a.State, Commit: a.Commit}
		switch {
		case a.State != "approved":
			ig.Reason = "not an approval"
		case len(memberOf[a.User]) == 0:
			ig.Reason = "not a member of a team whose sign-off is required"
		case a.Commit == "":
			ig.Reason = "the forge does not say which commit was approved"
		case a.Commit != head:
			ig.Reason = "approved an older commit " + short(a.Commit)
		default:
			for _, t := range memberOf[a.User] {
				v.Approved[t] = append(v.Approved[t], a.User)
			}
			continue
		}
		v.Ignored = append(v.Ignored, ig)
	}
	for _, t := range v.Required {
		if users := v.Approved[t]; len(users) > 0 {
			slices.Sort(users)
		} else {
			v.Missing = append(v.Missing, t)
		}
	}
	if len(v.Approved) == 0 {
		v.Approved = nil
	}
	slices.SortFunc(v.Ignored, func(a, b Ignored) int { return strings.Compare(a.User, b.User) })
	return v
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
