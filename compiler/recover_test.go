package compiler

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// interruptWrite leaves in out what a compile killed after committing its
// journal leaves: a plan that replaces state.json with an empty state,
// not yet applied.
func interruptWrite(t *testing.T, out string) {
	t.Helper()
	empty, err := deploy.NewState().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	j := filepath.Join(out, ".fleetc", "journal")
	for _, sub := range []string{"new", "old"} {
		if err := os.MkdirAll(filepath.Join(j, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(out, filepath.FromSlash(deploy.StatePath))
	if err := os.Link(state, filepath.Join(j, "old", "0")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j, "new", "0"), empty, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j, "plan"), []byte("P 0 1 .fleetc/state.json\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every reader of a deploy tree first finishes an interrupted write: plan
// (a dry-run compile) and explain read the state the write committed,
// never the half-applied tree.
func TestReadersRecoverInterruptedWrite(t *testing.T) {
	root := repoRoot(t)
	opts := func(out string) Options {
		return Options{Root: root, Out: out, Now: goldenNow, DryRun: true,
			ApprovalsFile: filepath.Join(root, "docs", "examples", "approvals.json"), Commit: exampleCommit}
	}
	out := filepath.Join(t.TempDir(), "deploy")
	compileSample(t, out, 0)
	interruptWrite(t, out)
	res, err := Compile(context.Background(), opts(out))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Plan.Summary; s.StoresTouched != s.FleetStores || s.FleetStores == 0 {
		t.Errorf("plan over a recovered write touched %d of %d stores, want all (the committed state is empty)", s.StoresTouched, s.FleetStores)
	}
	if _, err := os.Lstat(filepath.Join(out, ".fleetc", "journal")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal left after plan: %v", err)
	}

	out = filepath.Join(t.TempDir(), "deploy")
	compileSample(t, out, 0)
	interruptWrite(t, out)
	var store string
	for id := range compileSample(t, filepath.Join(t.TempDir(), "other"), 0).Desired.Stores {
		store = id
		break
	}
	_, exps, err := Explain(context.Background(), Options{Root: root, Out: out, Now: goldenNow}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exps {
		if e.Runs != "" {
			t.Errorf("explain over a recovered write: %s runs %q, want nothing (the committed state is empty)", store, e.Runs)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, ".fleetc", "journal")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal left after explain: %v", err)
	}
}
