package compiler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gen"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// The fast path of Explain must give exactly the full path's answer. These
// tests compare the JSON of both (explanations and findings) on generated
// fleets, and check the cases that must fall back.

// pilotApp is an extra app whose first version went to Canadian stores
// but zz-mixed-0001 (in Quebec); explainFleet then widens it to every
// store at the same version, so its install needs legal's sign-off
// exactly where the jurisdiction never had it, and the ring-entry sign-off
// exactly where the ring never ran it.
const pilotApp = `package fleet

apps: "zz-pilot": {
	namespace: "pilot"
	source: kustomize: {url: "https://git.example/pilot.git", path: "./deploy"}
	version: "%s"
	values: {mode: "%s"}
	%s
}
`

// mixedFile declares a store and a group in one file (always decoded by
// the fast path); the group lists a store declared in another file.
const mixedFile = `package fleet

stores: "zz-mixed-0001": {
	name:     "Mixed #0001"
	geo:      "ca/quebec/laval"
	timezone: "America/Toronto"
	hours: {mon: {open: "06:00", close: "22:00"}}
	jurisdiction: {country: "CA", region: "QC", city: "Laval"}
	attributes: {owner: "corporate", format: "small", devices: ["kds"]}
	cluster: {nodes: 1}
}

groups: "zz-mixed": {
	stores: ["zz-mixed-0001", "%s"]
}
`

// genFleet generates a fleet of n stores into dir/fleet and returns its
// root and its store ids.
func genFleet(t *testing.T, dir string, n int) (string, []string) {
	t.Helper()
	root := filepath.Join(dir, "fleet")
	if _, err := gen.Generate(root, gen.Options{Stores: n, Apps: 8, StoresPerFile: 40, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(context.Background(), Options{Root: root})
	if err != nil || res.Failed() {
		t.Fatalf("generated fleet: %v %v", err, res.Diagnostics.Err())
	}
	var ids []string
	for _, s := range res.Fleet.Stores {
		ids = append(ids, s.ID)
	}
	return root, ids
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// explainFleet generates a fleet, compiles it once with approvals (so the
// deploy tree has a previous state, and the cache its index), then
// changes it: pos gets a new version (ring-entry sign-offs depend on what
// each ring ran) and zz-pilot goes from Canada to every store.
func explainFleet(t *testing.T, n int) (opts Options, ids []string) {
	t.Helper()
	dir := t.TempDir()
	root, ids := genFleet(t, dir, n)
	writeFile(t, root, "apps/zz-pilot.cue", fmt.Sprintf(pilotApp, "1.0.0", "canada",
		`target: terms: [{match: [{key: "country", operator: "In", values: ["CA"]}, {key: "id", operator: "NotIn", values: ["zz-mixed-0001"]}]}]`))
	writeFile(t, root, "inventory/stores/zz-mixed.cue", fmt.Sprintf(mixedFile, ids[len(ids)/2]))
	opts = Options{Root: root, Out: filepath.Join(dir, "deploy"), CacheDir: filepath.Join(dir, "cache"), Now: goldenNow,
		ApprovalsFile: filepath.Join(repoRoot(t), "docs", "examples", "approvals.json"), Commit: exampleCommit}
	// Every ring gets what the policies allow: the rings bake for no time
	// and the stores report Ready after each compile.
	rings := filepath.Join(root, "rings", "rings.cue")
	b, err := os.ReadFile(rings)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "rings/rings.cue", regexp.MustCompile(`bakeTime: +"[^"]+"`).ReplaceAllString(string(b), `bakeTime: "0s"`))
	walkRollout(t, opts)
	writeFile(t, root, "apps/zz-pilot.cue", fmt.Sprintf(pilotApp, "1.0.0", "everywhere", ""))
	pos := filepath.Join(root, "apps", "pos.cue")
	b, err = os.ReadFile(pos)
	if err != nil {
		t.Fatal(err)
	}
	bumped := regexp.MustCompile(`(?m)^(\tversion: +")[^"]+"`).ReplaceAll(b, []byte(`${1}99.0.0"`))
	if string(bumped) == string(b) {
		t.Fatal("no version line in apps/pos.cue")
	}
	writeFile(t, root, "apps/pos.cue", string(bumped))
	opts.ApprovalsFile = "" // explain without approvals: sign-offs stay pending
	return opts, append(ids, "zz-mixed-0001")
}

// answer is what the CLI prints with --format json, plus the error.
func answer(t *testing.T, res *Result, exps []Explanation, err error) string {
	t.Helper()
	if err != nil {
		return "error: " + err.Error()
	}
	var diags diag.List
	if res != nil {
		diags = res.Diagnostics
	}
	b, err := json.MarshalIndent(struct {
		Diagnostics  diag.List     `json:"diagnostics"`
		Explanations []Explanation `json:"explanations"`
	}{diags, exps}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fullAnswers explains every store on the full path, analysing the fleet
// once.
func fullAnswers(t *testing.T, opts Options, ids []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	res, err := Analyze(ctx, opts)
	if err != nil || res.Failed() {
		t.Fatalf("analyze: %v %v", err, res.Diagnostics.Err())
	}
	out := map[string]string{}
	for _, id := range ids {
		r := *res
		r.Diagnostics = slices.Clone(res.Diagnostics)
		got, exps, err := explainAnalyzed(ctx, opts, &r, id, nil)
		out[id] = answer(t, got, exps, err)
	}
	return out
}

func TestExplainFastEqualsFull(t *testing.T) {
	opts, ids := explainFleet(t, 300)
	want := fullAnswers(t, opts, ids)
	ctx := context.Background()
	check := func(t *testing.T, ids []string) {
		verdicts := map[string]int{}
		for _, id := range ids {
			res, exps, err := explainFast(ctx, opts, id, nil)
			if err != nil {
				t.Fatalf("%s: fast path: %v", id, err)
			}
			if got := answer(t, res, exps, nil); got != want[id] {
				t.Fatalf("%s: fast path differs\nfast: %s\nfull: %s", id, got, want[id])
			}
			for _, e := range exps {
				d := e.Decision
				if d == nil {
					continue
				}
				verdicts[string(d.Kind)+" "+string(d.Verdict)]++
				if d.Kind == "install" {
					if slices.ContainsFunc(d.Rules, func(r string) bool { return strings.HasSuffix(r, "new_jurisdiction") }) {
						verdicts["install new in jurisdiction"]++
					} else {
						verdicts["install known in jurisdiction"]++
					}
				}
			}
		}
		// The comparison is only worth something if the answers vary,
		// with the history from the whole previous state both ways.
		for _, k := range []string{"install needs-signoff", "install defer", "install allow", "upgrade needs-signoff", "none allow",
			"reconfigure allow", "install new in jurisdiction", "install known in jurisdiction"} {
			if verdicts[k] == 0 {
				t.Errorf("no %q decision among %v", k, verdicts)
			}
		}
	}
	t.Run("index written by compile", func(t *testing.T) { check(t, ids) })
	if err := os.RemoveAll(filepath.Join(opts.CacheDir, "state")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(opts.CacheDir, "load-summary")); err != nil {
		t.Fatal(err)
	}
	// Every third store is enough to show the caches explain builds give
	// the same answers (and keeps the race-detector run short).
	var some []string
	for i := 0; i < len(ids); i += 3 {
		some = append(some, ids[i])
	}
	t.Run("index and summaries built by explain", func(t *testing.T) { check(t, append(some, "zz-mixed-0001")) })
	// A few apps by name, in the order given, as `explain STORE APP` asks.
	for _, id := range []string{ids[0], ids[len(ids)/3], "zz-mixed-0001"} {
		apps := []string{"zz-pilot", "pos"}
		r, exps, err := explainFull(ctx, opts, id, apps)
		full := answer(t, r, exps, err)
		r, exps, err = explainFast(ctx, opts, id, slices.Clone(apps))
		if got := answer(t, r, exps, err); got != full {
			t.Errorf("%s %v: fast path differs\nfast: %s\nfull: %s", id, apps, got, full)
		}
	}
}

// TestExplainFallback covers what the fast path must not answer itself:
// Explain then gives exactly the full path's answer.
func TestExplainFallback(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		change func(t *testing.T, opts *Options, ids []string) (store string)
		why    string // in the fallback reason; "" = the fast path answers
		// fullFails: the full path stops on a finding the fast path
		// rightly does not look for (it is not about this store).
		fullFails bool
	}{
		{name: "unknown store", why: "no file declares store", change: func(t *testing.T, _ *Options, ids []string) string {
			return ids[0] + "x"
		}},
		{name: "cache off", why: "the cache is off", change: func(t *testing.T, opts *Options, ids []string) string {
			opts.CacheDir = ""
			return ids[1]
		}},
		{name: "store declared twice", why: "2 files declare store", change: func(t *testing.T, opts *Options, ids []string) string {
			writeFile(t, opts.Root, "inventory/stores/zz-dup.cue", strings.Replace(fmt.Sprintf(mixedFile, ids[0]), "zz-mixed-0001", ids[2], 1))
			return ids[2]
		}},
		{name: "error in a store file it does not need", why: "has findings", change: func(t *testing.T, opts *Options, ids []string) string {
			writeFile(t, opts.Root, "inventory/stores/zz-bad.cue", "package fleet\n\nstores: \"zz-bad\": {name: 1}\n")
			return ids[3]
		}},
		{name: "store in two rings", why: "targeting has findings", change: func(t *testing.T, opts *Options, ids []string) string {
			writeFile(t, opts.Root, "rings/zz-ring.cue", fmt.Sprintf("package fleet\n\nrings: \"zz\": {order: 99, stores: [\"%s\"], bakeTime: \"1h\", successThreshold: 0.9, failureBudget: 1}\n", ids[4]))
			return ids[4]
		}},
		{name: "other store in two rings", fullFails: true, change: func(t *testing.T, opts *Options, ids []string) string {
			writeFile(t, opts.Root, "rings/zz-ring.cue", fmt.Sprintf("package fleet\n\nrings: \"zz\": {order: 99, stores: [\"%s\"], bakeTime: \"1h\", successThreshold: 0.9, failureBudget: 1}\n", ids[4]))
			return ids[5]
		}},
		{name: "corrupt previous state", why: "decode", change: func(t *testing.T, opts *Options, ids []string) string {
			writeFile(t, opts.Out, ".fleetc/state.json", `{"schema":2,"variants":{},"stores":{"x":"nope"}`)
			return ids[6]
		}},
		{name: "no previous state", change: func(t *testing.T, opts *Options, ids []string) string {
			opts.Out = filepath.Join(t.TempDir(), "empty")
			return ids[7]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, ids := explainFleet(t, 60)
			store := tc.change(t, &opts, ids)
			_, _, ferr := explainFast(ctx, opts, store, nil)
			var fb *fallbackError
			switch {
			case tc.why == "" && ferr != nil:
				t.Fatalf("fast path gave up: %v", ferr)
			case tc.why != "" && (!errors.As(ferr, &fb) || !strings.Contains(fb.why, tc.why)):
				t.Fatalf("fast path: got %v, want a fallback naming %q", ferr, tc.why)
			}
			res, exps, err := Explain(ctx, opts, store, nil)
			got := answer(t, res, exps, err)
			res, exps, err = explainFull(ctx, opts, store, nil)
			full := answer(t, res, exps, err)
			if tc.fullFails {
				if res == nil || !res.Failed() || !strings.Contains(full, "ring-membership") {
					t.Fatalf("full path should stop on the other store's ring membership:\n%s", full)
				}
				if strings.Contains(got, `"severity"`) || !strings.Contains(got, `"explanations": [`) {
					t.Fatalf("fast path should answer without findings:\n%s", got)
				}
				return
			}
			if got != full {
				t.Fatalf("Explain differs from the full path\nExplain: %s\nfull:    %s", got, full)
			}
		})
	}
}

// TestExplainUnknownApp: every app is loaded on the fast path, so an
// unknown app gets the full path's error and suggestions without it.
func TestExplainUnknownApp(t *testing.T) {
	opts, ids := explainFleet(t, 60)
	ctx := context.Background()
	_, _, fast := explainFast(ctx, opts, ids[0], []string{"poss"})
	_, _, full := explainFull(ctx, opts, ids[0], []string{"poss"})
	var unknown *target.UnknownError
	if !errors.As(fast, &unknown) || fast.Error() != full.Error() || fast.Error() != `unknown app "poss"; did you mean pos?` {
		t.Fatalf("fast: %v\nfull: %v", fast, full)
	}
}

// walkRollout compiles until the rollout holds no ring: after each compile
// every store reports every app it runs Ready (rollout.SnapshotFromState),
// as healthy agents would. The fleet's rings must not need bake time.
func walkRollout(t *testing.T, opts Options) *Result {
	t.Helper()
	snap := filepath.Join(t.TempDir(), "feedback.json")
	for i := 0; i < 10; i++ {
		res, err := Compile(context.Background(), opts)
		if err != nil || res.Failed() {
			t.Fatalf("compile: %v %v", err, res.Diagnostics.Err())
		}
		if !strings.Contains(res.Rollout.Summary(), " 0 rings held") {
			st, err := deploy.ReadState(opts.Out)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(rollout.SnapshotFromState(st, opts.Now, opts.Now))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(snap, b, 0o644); err != nil {
				t.Fatal(err)
			}
			opts.FeedbackFile = snap
			continue
		}
		return res
	}
	t.Fatal("the rollout still holds rings after 10 compiles")
	return nil
}
