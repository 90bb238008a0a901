package signoff

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/forge"
)

// memForge is an in-memory forge: one merge request, its reviews, the
// head's files and statuses.
type memForge struct {
	mr        forge.MRInfo
	files     map[string]string // sha:path → content
	approvals []forge.Approval
	statuses  map[string][]forge.Status
	mergeErr  error
	merged    []string // shas merged
}

func (m *memForge) Name() string { return "mem" }
func (m *memForge) EnsureMR(context.Context, forge.MR) (*forge.MRInfo, error) {
	return nil, errors.New("not used")
}
func (m *memForge) GetMR(_ context.Context, n int) (*forge.MRInfo, error) {
	if n != m.mr.Number {
		return nil, &forge.APIError{Forge: "mem", Status: 404, Message: "Not Found"}
	}
	mr := m.mr
	return &mr, nil
}
func (m *memForge) Approvals(context.Context, int) ([]forge.Approval, error) { return m.approvals, nil }
func (m *memForge) SetStatus(_ context.Context, sha string, st forge.Status) error {
	if m.statuses == nil {
		m.statuses = map[string][]forge.Status{}
	}
	for i, old := range m.statuses[sha] {
		if old.Context == st.Context {
			m.statuses[sha][i] = st
			return nil
		}
	}
	m.statuses[sha] = append(m.statuses[sha], st)
	return nil
}
func (m *memForge) Statuses(_ context.Context, sha string) ([]forge.Status, error) {
	return m.statuses[sha], nil
}
func (m *memForge) Merge(_ context.Context, _ int, sha string) error {
	if m.mergeErr != nil {
		return m.mergeErr
	}
	m.merged = append(m.merged, sha)
	return nil
}
func (m *memForge) ReadFile(_ context.Context, ref, path string) ([]byte, error) {
	s, ok := m.files[ref+":"+path]
	if !ok {
		return nil, &forge.APIError{Forge: "mem", Status: http.StatusNotFound, Message: "Not Found"}
	}
	return []byte(s), nil
}

func newMem() *memForge {
	return &memForge{
		mr:    forge.MRInfo{Number: 3, HeadSHA: "h2", State: "open"},
		files: map[string]string{"h2:" + deploy.DecisionsPath: sampleDecisions},
	}
}

var headApprovals = []forge.Approval{
	{User: "hweiss", Commit: "h2", State: "approved"},   // legal + ops
	{User: "tmorales", Commit: "h2", State: "approved"}, // franchise-relations
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(m *memForge)
		green     bool
		merged    []string
		notMerged string
		signoff   string
	}{
		{name: "nobody approved", green: false, notMerged: "sign-off is not complete", signoff: "needs sign-off from franchise-relations, legal, ops"},
		{name: "approved on the head merges", setup: func(m *memForge) { m.approvals = headApprovals }, green: true, merged: []string{"h2"},
			signoff: "signed off: franchise-relations (tmorales), legal (hweiss), ops (hweiss)"},
		{name: "approved an older head", setup: func(m *memForge) {
			m.approvals = []forge.Approval{{User: "hweiss", Commit: "h1", State: "approved"}, {User: "tmorales", Commit: "h2", State: "approved"}}
		}, notMerged: "sign-off is not complete", signoff: "needs sign-off from legal, ops"},
		{name: "another fleetc status is red", setup: func(m *memForge) {
			m.approvals = headApprovals
			m.statuses = map[string][]forge.Status{"h2": {{Context: "fleetc/plan", State: forge.Pending}, {Context: "ci/lint", State: forge.Failure}}}
		}, green: true, notMerged: "status fleetc/plan is pending", signoff: "signed off: franchise-relations (tmorales), legal (hweiss), ops (hweiss)"},
		{name: "head moved before the merge", setup: func(m *memForge) {
			m.approvals = headApprovals
			m.mergeErr = &forge.APIError{Forge: "mem", Status: 409, Message: "Head branch was modified"}
		}, green: true, notMerged: "mem refused the merge (409): Head branch was modified", signoff: "signed off: franchise-relations (tmorales), legal (hweiss), ops (hweiss)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem()
			if tt.setup != nil {
				tt.setup(m)
			}
			res, err := Run(context.Background(), Options{Forge: m, Number: 3, Teams: fleetTeams, AutoMerge: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Green() != tt.green || res.NotMerged != tt.notMerged || !reflect.DeepEqual(m.merged, tt.merged) || res.Merged != (tt.merged != nil) {
				t.Fatalf("green %v merged %v (%v) not merged %q", res.Green(), m.merged, res.Merged, res.NotMerged)
			}
			var signoff *forge.Status
			for i, st := range m.statuses["h2"] {
				if st.Context == ContextSignoff {
					signoff = &m.statuses["h2"][i]
				}
			}
			if signoff == nil || signoff.Description != tt.signoff || (signoff.State == forge.Success) != tt.green {
				t.Fatalf("fleetc/signoff = %+v, want %q", signoff, tt.signoff)
			}
			if len(res.Statuses) != 2 || res.Statuses[0].Context != ContextPolicy || res.Statuses[0].State != forge.Success {
				t.Fatalf("statuses %+v", res.Statuses)
			}
		})
	}
}

func TestRunWithoutDecisions(t *testing.T) {
	m := newMem()
	m.mr.HeadSHA = "h9"
	m.approvals = headApprovals
	res, err := Run(context.Background(), Options{Forge: m, Number: 3, Teams: fleetTeams, AutoMerge: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Status{
		{Context: "fleetc/policy", State: forge.Error, Description: "no .fleetc/decisions.jsonl at the head: not a fleetc deploy tree"},
		{Context: "fleetc/signoff", State: forge.Error, Description: "cannot check sign-off: no .fleetc/decisions.jsonl at the head: not a fleetc deploy tree"},
	}
	if res.Green() || res.Merged || !reflect.DeepEqual(m.statuses["h9"], want) {
		t.Fatalf("green %v merged %v statuses %+v", res.Green(), res.Merged, m.statuses["h9"])
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *memForge)
		opts  Options
		err   string
	}{
		{name: "unknown number", opts: Options{Number: 4}, err: "get merge request 4: mem  : 404 Not Found"},
		{name: "merged already", setup: func(m *memForge) { m.mr.State = "merged" }, opts: Options{Number: 3}, err: "merge request 3 is merged"},
		{name: "dir not a checkout", opts: Options{Number: 3, Dir: "/nonexistent-fleetc-dir"}, err: "git rev-parse HEAD in /nonexistent-fleetc-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem()
			if tt.setup != nil {
				tt.setup(m)
			}
			tt.opts.Forge = m
			_, err := Run(context.Background(), tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("err = %v, want prefix %q", err, tt.err)
			}
		})
	}
}
