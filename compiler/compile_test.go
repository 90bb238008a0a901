package compiler

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the sample fleet")

// goldenNow is the pinned clock of the golden compile: a Tuesday 03:00 in
// Chicago, inside most stores' windows and before the Thanksgiving freeze.
var goldenNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// exampleCommit is the commit docs/examples/approvals.json approves.
const exampleCommit = "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func compileSample(t *testing.T, out string, workers int) *Result {
	t.Helper()
	root := repoRoot(t)
	res, err := Compile(context.Background(), Options{
		Root: root, Out: out, Now: goldenNow, Workers: workers,
		ApprovalsFile: filepath.Join(root, "docs", "examples", "approvals.json"), Commit: exampleCommit,
	})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if res.Failed() {
		t.Fatalf("compile findings:\n%v", res.Diagnostics.Err())
	}
	return res
}

// readTree returns every file under dir by slash path, skipping .git.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); deploy.IsBookkeeping(filepath.ToSlash(rel)) {
			return nil // deploy.Write's bookkeeping (index, lock), not part of the tree
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func diffTrees(t *testing.T, got, want map[string][]byte, hint string) {
	t.Helper()
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	bad := 0
	for _, p := range paths {
		g, gok := got[p]
		w, wok := want[p]
		switch {
		case !gok:
			t.Errorf("%s: missing from output", p)
		case !wok:
			t.Errorf("%s: unexpected in output", p)
		case !bytes.Equal(g, w):
			t.Errorf("%s: content differs", p)
		default:
			continue
		}
		if bad++; bad > 20 {
			t.Fatalf("too many differences; %s", hint)
		}
	}
	if bad > 0 {
		t.Logf("%s", hint)
	}
}

// TestGoldenSampleFleet compiles the repo's sample fleet and compares the
// deploy tree with testdata/golden/sample. Refresh with
// `go test ./compiler -run Golden -update` (or `make golden`).
func TestGoldenSampleFleet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deploy")
	compileSample(t, out, 0)
	got := readTree(t, out)
	// What the golden bytes must mean, whatever they look like.
	// A first rollout reaches the lab ring only (pinned rings aside): the
	// Illinois lab store runs pos but never drive-thru-vision (BIPA); the
	// Illinois pilot store's pos waits for the rings before it.
	entry := string(got["clusters/us-il-chicago-0900/kustomization.yaml"])
	_, profile, _ := strings.Cut(entry, "- ../../profiles/")
	profile, _, _ = strings.Cut(profile, "\n")
	il := string(got["profiles/"+profile+"/apps.yaml"])
	if profile == "" || !strings.Contains(il, "name: pos\n") || strings.Contains(il, "drive-thru-vision") {
		t.Errorf("an Illinois lab store must run pos and never drive-thru-vision (BIPA):\n%s", il)
	}
	decisions, err := gate.DecodeJSONL(bytes.NewReader(got[deploy.DecisionsPath]))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(decisions, func(d gate.Decision) bool {
		return d.Store == "us-il-chicago-0102" && d.App == "pos" && d.Verdict == policy.Defer && slices.Contains(d.Rules, rollout.RuleRollout) && d.Runs == ""
	}) {
		t.Error("the Illinois pilot store's pos is not held by the rollout on a first compile")
	}
	bipa := slices.IndexFunc(decisions, func(d gate.Decision) bool {
		return d.Store == "us-il-chicago-0102" && d.App == "drive-thru-vision" && d.Ring == "pilot" && d.Kind == policy.Install &&
			d.To == "0.9.3" && d.Verdict == policy.Deny && len(d.Rules) > 0 && d.Rules[0] == "legal.deny_bipa"
	})
	if bipa < 0 {
		t.Errorf("decisions.jsonl lacks the BIPA deny of us-il-chicago-0102")
	}
	if lines := bytes.Count(got[deploy.DecisionsPath], []byte("\n")); lines*2 > len(decisions) {
		t.Errorf("decisions.jsonl has %d lines for %d decisions: not grouped", lines, len(decisions))
	}
	if _, ok := got["clusters/us-ca-los-angeles-0332/kustomization.yaml"]; !ok {
		t.Errorf("a store deferred on its first compile still gets its (empty) entry point")
	}
	golden := filepath.Join("testdata", "golden", "sample")
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		for p, b := range got {
			dst := filepath.Join(golden, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	diffTrees(t, got, readTree(t, golden), "run `make golden` to refresh testdata/golden if the change is intended")
}

// TestCompileDeterministic compiles the sample fleet twice, with one and
// with four workers, into fresh directories and into the same directory
// again: every tree must be byte-identical.
func TestCompileDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	compileSample(t, a, 1)
	compileSample(t, b, 4)
	first := readTree(t, a)
	if len(first) == 0 {
		t.Fatal("empty tree")
	}
	diffTrees(t, readTree(t, b), first, "workers 1 vs 4")

	// Recompiling over its own output changes nothing but the decisions
	// of this compile: what was allowed is now unchanged and no longer
	// listed; what was denied or deferred is decided again.
	res := compileSample(t, a, 2)
	again := readTree(t, a)
	decisions := again[deploy.DecisionsPath]
	delete(again, deploy.DecisionsPath)
	delete(first, deploy.DecisionsPath)
	diffTrees(t, again, first, "recompile in place")
	if !res.Plan.Empty() {
		t.Errorf("recompiling unchanged input planned changes: %+v", res.Plan.Summary.Counts)
	}
	if res.Written.Unchanged != res.Written.Files-1 {
		t.Errorf("recompile rewrote files: %d of %d unchanged, want all but decisions.jsonl", res.Written.Unchanged, res.Written.Files)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(decisions), []byte("\n")) {
		if !bytes.Contains(line, []byte(`"verdict":"deny"`)) && !bytes.Contains(line, []byte(`"verdict":"defer"`)) {
			t.Errorf("recompile recorded a decision that is neither deny nor defer: %s", line)
		}
	}
	// 10 outside their window, 230 held by the rollout until lab reports.
	if v := res.Verdicts.Verdicts; v["deny"] != 4 || v["defer"] != 240 || v["allow"] != 0 {
		t.Errorf("recompile verdicts = %v, want 4 deny, 240 defer, 0 allow", v)
	}
}

// The example snapshot in docs decodes against the sample fleet without a
// finding, and on the night after the demo's compile it opens canary.
func TestFeedbackExample(t *testing.T) {
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "deploy")
	compileSample(t, out, 0)
	res, err := Compile(context.Background(), Options{
		Root: root, Out: out, Now: goldenNow.Add(24 * time.Hour), DryRun: true,
		ApprovalsFile: filepath.Join(root, "docs", "examples", "approvals.json"), Commit: exampleCommit,
		FeedbackFile: filepath.Join(root, "docs", "examples", "feedback-sample.json"),
	})
	if err != nil || res.Failed() || len(res.Diagnostics) != 0 {
		t.Fatalf("compile with the example feedback: %v %v", err, res.Diagnostics)
	}
	if got := res.Rollout.Rollouts["pos"].Rings[1]; got.Ring != "canary" || got.Opened == nil {
		t.Errorf("canary not opened on the lab's feedback: %+v", got)
	}
}
