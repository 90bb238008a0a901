package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

func TestInputPaths(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   string
	}{
		{"static refs", `package fleetc.p

deny_x contains "x" if {
	input.store.jurisdiction.region == "IL"
	input.app.id == "a"
}
`, "input.app.id\ninput.store.jurisdiction.region"},
		{"dynamic key reads its parent", `package fleetc.p

deny_x contains "x" if {
	some k
	input.values[k] == "bad"
}
`, "input.values"},
		{"key read from input", `package fleetc.p

deny_x contains "x" if input.values[input.app.id] == "bad"
`, "input.app.id\ninput.values"},
		{"whole input", `package fleetc.p

deny_x contains "x" if {
	doc := input
	doc.app.id == "a"
}
`, "input"},
		{"input as an argument", `package fleetc.p

deny_x contains "x" if object.get(input, ["app", "id"], "") == "a"
`, "input"},
		{"shorter prefix wins", `package fleetc.p

deny_x contains "x" if input.store.attributes.owner == "franchise"

warn_y contains "y" if count(input.store) > 100
`, "input.store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": tc.policy}))
			if got := e.InputPaths(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestMemo: inputs that differ only in fields no policy reads are
// evaluated once; a field a policy reads changes the decision.
func TestMemo(t *testing.T) {
	e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": `package fleetc.p

deny_bipa contains "biometrics in Illinois" if {
	input.store.jurisdiction.region == "IL"
	input.app.id == "vision"
}
`}))
	app := &model.App{ID: "vision"}
	var inputs []Input
	for i := range 500 {
		s := store(fmt.Sprintf("s-%04d", i), "America/Chicago", "US", "WI", everyDay("06:00", "22:00"))
		s.Jurisdiction.City = fmt.Sprintf("town %d", i) // read by no policy
		inputs = append(inputs, Input{Store: NewStoreFacts(s, nil), App: app, Values: map[string]any{"i": i}})
	}
	illinois := store("il-0001", "America/Chicago", "US", "IL", nil)
	inputs = append(inputs, Input{Store: NewStoreFacts(illinois, nil), App: app})
	ds, err := e.Decide(context.Background(), inputs, EvalOptions{Now: time.Unix(0, 0), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluations(); got != 2 {
		t.Errorf("evaluations: got %d, want 2 (one per region)", got)
	}
	if ds[0].Verdict != Allow || ds[499].Verdict != Allow || ds[500].Verdict != Deny {
		t.Errorf("verdicts: %s %s %s", ds[0].Verdict, ds[499].Verdict, ds[500].Verdict)
	}

	before := e.Evaluations()
	if _, err := e.Decide(context.Background(), inputs, EvalOptions{Now: time.Unix(0, 0), NoMemo: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluations() - before; got != int64(len(inputs)) {
		t.Errorf("without memo: %d evaluations, want %d", got, len(inputs))
	}
}

// TestMemoWholeInput: a policy reading input whole makes every distinct
// input its own class.
func TestMemoWholeInput(t *testing.T) {
	e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": `package fleetc.p

warn_size contains "big" if count(json.marshal(input)) > 100000
`}))
	app := &model.App{ID: "a"}
	var inputs []Input
	for i := range 20 {
		inputs = append(inputs, Input{Store: NewStoreFacts(store(fmt.Sprintf("s-%d", i), "UTC", "US", "WI", nil), nil), App: app})
	}
	inputs = append(inputs, inputs[0]) // an exact duplicate
	if _, err := e.Decide(context.Background(), inputs, EvalOptions{Now: time.Unix(0, 0), Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluations(); got != 20 {
		t.Errorf("evaluations: got %d, want 20", got)
	}
}

// TestMemoBundled: with the default bundle, stores that differ only in
// id, name, city and hours class share decisions.
func TestMemoBundled(t *testing.T) {
	e := mustLoad(t, "")
	now := utc("2026-06-10T17:00:00Z")
	var inputs []Input
	for i := range 300 {
		region := []string{"IL", "WI", "NY"}[i%3]
		sc := scenario{store: store(fmt.Sprintf("s-%04d", i), "America/Chicago", "US", region, everyDay("06:00", "22:00")),
			app: "pos", change: Change{From: "1.0.0", To: "1.1.0", Kind: Upgrade}, history: History{RingHasVersion: true, JurisdictionHasApp: true}}
		inputs = append(inputs, sc.input(t, now))
	}
	ds, err := e.Decide(context.Background(), inputs, EvalOptions{Now: now, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluations(); got != 3 {
		t.Errorf("evaluations: got %d, want 3", got)
	}
	for i, d := range ds {
		if d.Verdict != Defer {
			t.Fatalf("input %d: %s", i, d.Verdict)
		}
	}
}

// TestApprovals: approvals count only on the commit being compiled; one
// given on another commit or naming none is a warning naming who and
// which commit, and never counts (before, an approval without a commit
// counted, and compile passed no commit at all).
func TestApprovals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "approvals.json")
	content := `{"approvals":[
		{"user":"alice","commit":"c1"},
		{"user":"mallory","commit":"c1"},
		{"user":"bob","commit":"c0"},
		{"user":"carol"},
		{"user":"alice","commit":"C1"},
		{"user":"dave","commit":"c1"}
	]}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := ReadApprovals(path)
	if err != nil {
		t.Fatal(err)
	}
	teams := []*model.Team{
		{Name: "ops-leads", Members: []string{"alice", "bob"}},
		{Name: "legal", Members: []string{"carol", "alice"}},
		{Name: "release-managers", Members: []string{"bob"}},
		{Name: "platform", Members: []string{"dave"}},
	}
	set, diags := a.Resolve(teams, "c1")
	if got := strings.Join(set.Users, ","); got != "alice,dave" {
		t.Errorf("users %q, want alice,dave", got)
	}
	if got := strings.Join(set.Teams, ","); got != "legal,ops-leads,platform" {
		t.Errorf("teams %q", got)
	}
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.Path+" "+string(d.Severity)+" "+d.Code)
		if d.Pos.File != path {
			t.Errorf("diagnostic at %q, want %q", d.Pos.File, path)
		}
	}
	want := "approvals[1] warning approval-unknown-user|approvals[2] warning approval-stale|approvals[3] warning approval-stale"
	if got := strings.Join(msgs, "|"); got != want {
		t.Errorf("diagnostics %q, want %q", got, want)
	}
	if !strings.Contains(diags[0].Message, "mallory") {
		t.Errorf("unknown user not named: %s", diags[0].Message)
	}
	if m := diags[1].Message; !strings.Contains(m, "bob") || !strings.Contains(m, "commit c0, not on c1") {
		t.Errorf("stale approval does not say who and which commit: %s", m)
	}
	if m := diags[2].Message; !strings.Contains(m, "carol names no commit") {
		t.Errorf("approval without a commit: %s", m)
	}
	// No commit known: nothing counts.
	if set, _ := a.Resolve(teams, ""); len(set.Users) != 0 || len(set.Teams) != 0 {
		t.Errorf("with no commit %v counted", set)
	}

	if _, err := ReadApprovals(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("want an error for a missing file")
	}
	if err := os.WriteFile(path, []byte(`{"approvals": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadApprovals(path); err == nil {
		t.Error("want an error for a malformed file")
	}
}
