package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// sampleUpgrade compiles the sample fleet a second time with pos moved on
// (5.13.0 everywhere but chain, which moves from 5.11.3 to 5.12.0), with
// sign-offs proposed, on top of the sample tree. It returns the base
// state and the new tree.
func sampleUpgrade(t *testing.T) (*deploy.State, string) {
	t.Helper()
	dir := sampleTree(t)
	base, err := deploy.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "fleet")
	for _, sub := range []string{"schemas", "inventory", "apps", "rings", "policies"} {
		copyDir(t, filepath.Join(repoRoot(t), sub), filepath.Join(root, sub))
	}
	copyDir(t, filepath.Join(repoRoot(t), "fleet.cue"), filepath.Join(root, "fleet.cue"))
	pos := filepath.Join(root, "apps", "pos.cue")
	b, err := os.ReadFile(pos)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), `version: "5.12.0"`, `version: "5.13.0"`, 1)
	src = strings.Replace(src, `versions: chain: "5.11.3"`, `versions: chain: "5.12.0"`, 1)
	if src == string(b) {
		t.Fatal("apps/pos.cue has no version to bump")
	}
	if err := os.WriteFile(pos, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := compiler.Compile(context.Background(), compiler.Options{
		Root: root, Out: dir, Now: testDate, Workers: 2, ProposeSignoff: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatal(res.Diagnostics.Err())
	}
	return base, dir
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler/internal/publish -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test ./compiler/internal/publish -update rewrites it); got:\n%s", file, got)
	}
}

// The MR body and commit message of the sample fleet's pos upgrade.
func TestBodySampleGolden(t *testing.T) {
	base, dir := sampleUpgrade(t)
	next, err := deploy.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	decisions, err := ReadDecisions(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport(base, next, decisions, StoreZone(dir, decisions))
	body := r.Body()
	checkGolden(t, "sample-upgrade.body.md", body)
	checkGolden(t, "sample-upgrade.commit.txt", r.CommitMessage())
	// Deterministic: a second rendering is byte-identical.
	if again := NewReport(base, next, decisions, StoreZone(dir, decisions)).Body(); again != body {
		t.Error("body differs between two renderings")
	}
	if len(body) > 20000 {
		t.Errorf("sample body is %d bytes; an operator reads it in 30 s", len(body))
	}
}

// A fleet-wide change with many rules, teams and defer times stays far
// below the forge's limit and says what it summarised.
func TestBodyLargeFleetIsSummarised(t *testing.T) {
	base, next := deploy.NewState(), deploy.NewState()
	var ds []gate.Decision
	const stores = 60000
	for i := range 4 {
		for _, v := range []string{"1.0.0", "2.0.0"} {
			id := fmt.Sprintf("app%d@%s-0123456789", i, v)
			for _, s := range []*deploy.State{base, next} {
				s.Variants[id] = &deploy.Variant{App: fmt.Sprintf("app%d", i), Version: v}
			}
		}
	}
	for n := range stores {
		id := fmt.Sprintf("s-%05d", n)
		ring := fmt.Sprintf("ring%02d", n%50)
		base.Stores[id] = &deploy.StoreState{Ring: ring, Apps: map[string]string{}}
		next.Stores[id] = &deploy.StoreState{Ring: ring, Apps: map[string]string{}}
		for i := range 4 {
			base.Stores[id].Apps[fmt.Sprintf("app%d", i)] = fmt.Sprintf("app%d@1.0.0-0123456789", i)
			next.Stores[id].Apps[fmt.Sprintf("app%d", i)] = fmt.Sprintf("app%d@2.0.0-0123456789", i)
		}
		until := testDate.Add(time.Duration(n%300) * time.Minute)
		rule := fmt.Sprintf("r.rule_%02d", n%60)
		ds = append(ds,
			gate.Decision{Store: id, App: "app0", Verdict: policy.Defer, Until: &until,
				Reasons: []policy.Reason{{Rule: "window." + rule, Verdict: policy.Defer, Msg: strings.Repeat("long message | with pipes ", 20)}}},
			gate.Decision{Store: id, App: "app1", Verdict: policy.Deny,
				Reasons: []policy.Reason{{Rule: "legal." + rule, Verdict: policy.Deny, Msg: "no", Pos: diag.Pos{File: "policies/legal.rego", Line: n % 60, Col: 1}}}},
			gate.Decision{Store: id, App: "app2", Verdict: policy.NeedsSignoff, Teams: []string{fmt.Sprintf("team-%02d", n%45)},
				Reasons: []policy.Reason{{Rule: "signoff.x", Verdict: policy.NeedsSignoff, Teams: []string{fmt.Sprintf("team-%02d", n%45)}}}},
		)
	}
	body := NewReport(base, next, ds, nil).Body()
	t.Logf("body: %d bytes", len(body))
	if len(body) > 40000 {
		t.Errorf("body is %d bytes, want well under GitHub's 65,536", len(body))
	}
	for _, want := range []string{
		"**Blast radius:** 60,000 of 60,000 stores (100%), 240,000 (store, app) changes",
		"| app0 | ring00 | upgraded 1.0.0 → 2.0.0 | 1,200 | `s-00000`, `s-00050`, `s-00100`, `s-00150`, `s-00200`, … and 1195 more |",
		"_… and 175 more rows; `fleetc plan --format json` lists all._",
		"_… and 25 more rows;", // ring table: 50 rings
		"long message \\| with pipes",
		"Summarised: ",
		"rows were left out of rings, changes, sign-offs, deferrals, deferral times, denials",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if strings.Contains(body, "Every list above is complete") {
		t.Error("body claims completeness though it summarised")
	}
}

func TestSubject(t *testing.T) {
	v := func(app, ver string) string { return app + "@" + ver + "-0123456789" }
	state := func(stores map[string]map[string]string, ring map[string]string) *deploy.State {
		s := deploy.NewState()
		for id, apps := range stores {
			s.Stores[id] = &deploy.StoreState{Ring: ring[id], Apps: apps}
			for _, vid := range apps {
				app, ver, _, _ := deploy.SplitVariantID(vid)
				s.Variants[vid] = &deploy.Variant{App: app, Version: ver}
			}
		}
		return s
	}
	rings := map[string]string{"a": "lab", "b": "chain", "c": "chain", "d": "chain"}
	old := state(map[string]map[string]string{
		"a": {"pos": v("pos", "5.11.3")}, "b": {"pos": v("pos", "5.11.3")}, "c": {"pos": v("pos", "5.11.3")}, "d": {"pos": v("pos", "5.11.3")},
	}, rings)
	tests := []struct {
		name string
		next *deploy.State
		ds   []gate.Decision
		want string
	}{
		{"nothing", old, nil, "fleetc: no store changes"},
		{"one app one ring", state(map[string]map[string]string{
			"a": {"pos": v("pos", "5.11.3")}, "b": {"pos": v("pos", "5.12.0")}, "c": {"pos": v("pos", "5.12.0")}, "d": {"pos": v("pos", "5.11.3")},
		}, rings), []gate.Decision{
			{Store: "d", App: "pos", Verdict: policy.Defer}, {Store: "a", App: "x", Verdict: policy.Deny},
		}, "fleetc: pos 5.12.0 → chain (2 stores), 1 denied, 1 deferred"},
		{"removal and two rings", state(map[string]map[string]string{
			"a": {}, "b": {}, "c": {"pos": v("pos", "5.11.3")}, "d": {"pos": v("pos", "5.11.3")},
		}, rings), []gate.Decision{{Store: "a", App: "pos", Verdict: policy.NeedsSignoff}},
			"fleetc: pos removed → lab, chain (2 stores), 1 need sign-off"},
		{"many apps", state(map[string]map[string]string{
			"a": {"pos": v("pos", "5.12.0"), "kds": v("kds", "1.0.0"), "menu": v("menu", "2.0.0")}, "b": {"pos": v("pos", "5.11.3")},
			"c": {"pos": v("pos", "5.11.3")}, "d": {"pos": v("pos", "5.11.3")},
		}, rings), nil, "fleetc: kds 1.0.0, menu 2.0.0 +1 app → lab (1 store)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewReport(old, tc.next, tc.ds, nil).Subject(); got != tc.want {
				t.Errorf("Subject() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"num small", num(7), "7"},
		{"num thousands", num(60000), "60,000"},
		{"num millions", num(1234567), "1,234,567"},
		{"num negative", num(-1234), "-1,234"},
		{"percent none", percent(0, 60000), "0%"},
		{"percent tiny", percent(29, 60000), "0.05%"},
		{"percent few", percent(3, 100), "3.0%"},
		{"percent many", percent(49, 49), "100%"},
		{"percent empty fleet", percent(0, 0), "0%"},
		{"cell escapes", cell("a|b\nc <d> `e`"), `a\|b c &lt;d&gt; 'e'`},
		{"quote long", quote(strings.Repeat("x", 300)), strings.Repeat("x", maxCell-1) + "…"},
		{"zone in message", zoneInText("outside the store's deployment window (group:mall-kiosks, America/Los_Angeles); next window opens at 2026-11-24T10:00:00Z"), "America/Los_Angeles"},
		{"no zone", zoneInText("group/kiosks at 10:00 UTC"), ""},
		{"provider github", InferProvider("https://github.com/acme/deploy.git"), "github"},
		{"provider gitlab ssh", InferProvider("git@gitlab.example.com:ops/deploy.git"), "gitlab"},
		{"provider gitea", InferProvider("https://gitea.internal/ops/deploy"), "gitea"},
		{"provider plain", InferProvider("http://127.0.0.1:3000/deploy.git"), "git"},
		{"cache key ignores credentials", cacheKey("https://u:p@host/r.git"), cacheKey("https://host/r.git")},
		{"redact", redact("token abc in abc", "abc", ""), "token [redacted] in [redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestParseSignature(t *testing.T) {
	tests := []struct {
		in      string
		want    Signature
		wantErr bool
	}{
		{"fleetc <fleetc@localhost>", Signature{"fleetc", "fleetc@localhost"}, false},
		{"  Ops Bot  <ops@example.com> ", Signature{"Ops Bot", "ops@example.com"}, false},
		{"no email", Signature{}, true},
		{"<only@email>", Signature{}, true},
		{"Name <>", Signature{}, true},
		{"Name <a@b> trailing", Signature{}, true},
		{"Na<me <a@b>", Signature{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignature(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseSignature(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{"fleetc <fleetc@localhost>", "a <b>", "<>", "x<y<z>>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignature(s)
		if err != nil {
			return
		}
		// An accepted signature round-trips and is safe for git's env.
		if strings.ContainsAny(sig.Name+sig.Email, "<>\n") || sig.Name == "" || sig.Email == "" {
			t.Fatalf("ParseSignature(%q) = %+v", s, sig)
		}
		again, err := ParseSignature(sig.Name + " <" + sig.Email + ">")
		if err != nil || again != sig {
			t.Fatalf("round trip of %+v: %+v, %v", sig, again, err)
		}
	})
}

func TestParseDecisions(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"a line per group", `{"stores":["s2"],"app":"kds","verdict":"deny","reasons":[{"rule":"legal.x","verdict":"deny","msg":"m","pos":{"file":"p.rego","line":3,"col":1}}]}` + "\n\n" +
			`{"stores":["s1"],"app":"pos","verdict":"defer","until":"2026-11-24T10:00:00Z"}` + "\n"},
		{"a line per decision (older fleetc)", `{"store":"s1","app":"pos","verdict":"defer","until":"2026-11-24T10:00:00Z"}` + "\n\n" +
			`{"store":"s2","app":"kds","verdict":"deny","reasons":[{"rule":"legal.x","verdict":"deny","msg":"m","pos":{"file":"p.rego","line":3,"col":1}}]}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ParseDecisions([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 2 || ds[0].Store != "s1" || ds[0].Until == nil || !ds[0].Until.Equal(testDate.Add(time.Hour)) ||
				ds[1].Store != "s2" || ds[1].Reasons[0].Pos.String() != "p.rego:3:1" {
				t.Fatalf("decisions = %+v", ds)
			}
		})
	}
	if _, err := ParseDecisions([]byte("{\"store\":\"s1\"}\n{broken\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want line 2", err)
	}
}

// A deploy repo may hold the decisions.jsonl of an older fleetc, a line
// per decision: its merge request body is the one the grouped file gives.
func TestBodyOldDecisionsFormat(t *testing.T) {
	base, dir := sampleUpgrade(t)
	next, err := deploy.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	grouped, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(deploy.DecisionsPath)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(grouped), `{"stores":[`) {
		t.Fatalf("decisions.jsonl is not grouped: %.200s", grouped)
	}
	decisions, err := ParseDecisions(grouped)
	if err != nil {
		t.Fatal(err)
	}
	var old bytes.Buffer
	enc := json.NewEncoder(&old)
	for i := len(decisions) - 1; i >= 0; i-- { // the reader orders them
		if err := enc.Encode(&decisions[i]); err != nil {
			t.Fatal(err)
		}
	}
	fromOld, err := ParseDecisions(old.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(fromOld) != len(decisions) || bytes.Count(grouped, []byte("\n")) >= len(decisions) {
		t.Fatalf("%d decisions from %d grouped lines, %d from the old format", len(decisions), bytes.Count(grouped, []byte("\n")), len(fromOld))
	}
	body := NewReport(base, next, decisions, StoreZone(dir, decisions)).Body()
	if got := NewReport(base, next, fromOld, StoreZone(dir, fromOld)).Body(); got != body {
		t.Errorf("body from the old format differs:\n%s\nwant\n%s", got, body)
	}
}

func TestParseTransfer(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   transfer
	}{
		{"push", "Enumerating objects: 5, done.\rWriting objects:  50% (1/2)\rWriting objects: 100% (120315/120315), 34.48 MiB | 578.00 KiB/s\rWriting objects: 100% (120315/120315), 34.77 MiB | 1.28 MiB/s, done.\nTotal 120315 (delta 59261)", transfer{120315, "34.77 MiB"}},
		{"fetch", "remote: Counting objects: 3\rReceiving objects: 100% (446/446), 61.88 KiB | 1 MiB/s, done.\n", transfer{446, "61.88 KiB"}},
		{"small", "Writing objects: 100% (3/3), 289 bytes | 289.00 KiB/s, done.", transfer{3, "289 bytes"}},
		{"nothing", "Everything up-to-date\n", transfer{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseTransfer([]byte(tc.stderr)); got != tc.want {
				t.Errorf("parseTransfer = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGitMessageDropsProgress(t *testing.T) {
	in := "Enumerating objects: 6035\rCounting objects: 100% (1/1)\nerror: RPC failed; HTTP 400\nWriting objects:   0% (1/12)\nfatal: the remote end hung up unexpectedly\n"
	if got, want := gitMessage([]byte(in)), "error: RPC failed; HTTP 400; fatal: the remote end hung up unexpectedly"; got != want {
		t.Errorf("gitMessage = %q, want %q", got, want)
	}
}

// StoreZone reads the store's zone from the entry point render writes,
// not from a decision's message.
func TestStoreZoneFromEntryPoint(t *testing.T) {
	_, dir := sampleUpgrade(t)
	zone := StoreZone(dir, nil)
	if got := zone("us-il-chicago-0101"); got != "America/Chicago" {
		t.Errorf("zone of us-il-chicago-0101 = %q, want America/Chicago", got)
	}
	if got := zone("no-such-store"); got != "" {
		t.Errorf("zone of an unknown store = %q", got)
	}
}

// A halt in force and a mass change let through are shown first, before
// the blast radius (docs/guards.md); a fleet-level record names no store
// in the other sections.
func TestBodyShowsGuardsFirst(t *testing.T) {
	st := deploy.NewState()
	r := &Report{Plan: deploy.Summarize(st, st), Verdicts: &gate.Summary{}, Decisions: []gate.Decision{
		{Kind: "halt", Verdict: policy.Defer, Rules: []string{"fleetc.halt"}, Reasons: []policy.Reason{{Rule: "fleetc.halt", Verdict: policy.Defer, Msg: "halt pos-incident in force (pos in every ring): stopped by dokafor"}}},
		{Store: "s-1", App: "pos", Ring: "main", Kind: policy.Upgrade, From: "1.0.0", To: "1.1.0", Verdict: policy.Defer, Rules: []string{"fleetc.halt"}, Reasons: []policy.Reason{{Rule: "fleetc.halt", Verdict: policy.Defer, Msg: "the line is stopped"}}},
	}}
	body := r.Body()
	i, j := strings.Index(body, "> **Line stopped:** halt pos-incident in force"), strings.Index(body, "**Blast radius:**")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("the halt is not shown before the blast radius:\n%s", body)
	}
	if strings.Contains(body, "``") {
		t.Errorf("a fleet-level record is listed as an empty store:\n%s", body)
	}
}
