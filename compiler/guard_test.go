package compiler

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gen"
	"github.com/fleetc/fleetc/compiler/internal/guard"
)

// The failures issue 11 names, on a generated 2,000-store fleet: deleting
// 6% of its stores removed their (store, app) pairs with exit 0, and
// deleting 98% during the Thanksgiving freeze deleted their entry points
// with no line in decisions.jsonl (here: every store no ring group names
// by id, most of the fleet). Now both fail and leave the tree as it
// was; 5% goes through and is recorded store by store.
func TestMassChangeGuardGeneratedFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a 2,000-store fleet five times")
	}
	dir := t.TempDir()
	root, out := filepath.Join(dir, "fleet"), filepath.Join(dir, "deploy")
	if _, err := gen.Generate(root, gen.Options{Stores: 2000, Apps: 6, StoresPerFile: 20, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	compile := func(now string, dryRun bool) *Result {
		t.Helper()
		at, _ := time.Parse(time.RFC3339, now)
		res, err := Compile(ctx, Options{Root: root, Out: out, Now: at, ProposeSignoff: true, DryRun: dryRun})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := compile("2026-11-24T09:00:00Z", false); res.Failed() {
		t.Fatal(res.Diagnostics.Err())
	}
	state := func() []byte {
		b, err := os.ReadFile(filepath.Join(out, deploy.StatePath))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := state()

	// Inventory files by how many stores they hold.
	res, err := Analyze(ctx, Options{Root: root})
	if err != nil || res.Failed() {
		t.Fatal(err, res.Diagnostics.Err())
	}
	// Files whose stores no group or ring names by id can go alone.
	named := map[string]bool{}
	for _, g := range res.Fleet.Groups {
		for _, id := range g.Stores {
			named[id] = true
		}
	}
	for _, r := range res.Fleet.Rings {
		for _, id := range r.Stores {
			named[id] = true
		}
	}
	perFile, pinned := map[string]int{}, map[string]bool{}
	for _, s := range res.Fleet.Stores {
		perFile[s.Pos.File]++
		pinned[s.Pos.File] = pinned[s.Pos.File] || named[s.ID]
	}
	files := make([]string, 0, len(perFile))
	for f := range perFile {
		if !pinned[f] {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	// take moves files holding at least n stores out of the fleet.
	take := func(n int) (moved []string, stores int) {
		for _, f := range files {
			if stores >= n {
				break
			}
			if err := os.Rename(filepath.Join(root, f), filepath.Join(dir, filepath.Base(f))); err != nil {
				t.Fatal(err)
			}
			moved, stores = append(moved, f), stores+perFile[f]
		}
		return moved, stores
	}
	restore := func(moved []string) {
		for _, f := range moved {
			if err := os.Rename(filepath.Join(dir, filepath.Base(f)), filepath.Join(root, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustTrip := func(what, now string) {
		t.Helper()
		for _, dry := range []bool{true, false} {
			res := compile(now, dry)
			if !res.Failed() || !slices.ContainsFunc(res.Diagnostics, func(d diag.Diagnostic) bool { return d.Code == "mass-change" }) {
				t.Fatalf("%s (dry run %v): want the mass-change guard to fail the compile, got %v", what, dry, res.Diagnostics)
			}
		}
		if !bytes.Equal(state(), before) {
			t.Fatalf("%s: the deploy tree changed though the compile failed", what)
		}
	}

	moved, n := take(120) // 6%
	if n <= 100 {
		t.Fatalf("took %d stores, want over 100", n)
	}
	mustTrip("6% of the stores gone", "2026-11-24T09:00:00Z")
	restore(moved)

	moved, n = take(1960) // as many as can go, in the freeze
	if n < 1000 {
		t.Fatalf("only %d stores can go alone, want most of the fleet", n)
	}
	mustTrip("most stores gone during the freeze", "2026-11-27T09:00:00Z")
	restore(moved)

	// 2% of the stores (and of each app's): through, each departure recorded.
	var small []string
	total := 0
	for _, f := range files {
		if total+perFile[f] <= 40 {
			small, total = append(small, f), total+perFile[f]
		}
	}
	for _, f := range small {
		if err := os.Remove(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	res = compile("2026-11-24T09:00:00Z", false)
	if res.Failed() {
		t.Fatalf("%d of 2,000 stores gone (2%%): %v", total, res.Diagnostics.Err())
	}
	gone := map[string]bool{}
	for _, d := range res.Gate.Decisions {
		if d.Kind == guard.KindDecommission {
			gone[d.Store] = true
		}
	}
	if len(gone) != total || res.Mass.Gone != total {
		t.Errorf("%d stores recorded as decommissioned (guard counted %d), want %d", len(gone), res.Mass.Gone, total)
	}
	jsonl, err := os.ReadFile(filepath.Join(out, ".fleetc", "decisions.jsonl"))
	if err != nil || !strings.Contains(string(jsonl), `"kind":"decommission"`) {
		t.Errorf("decisions.jsonl has no decommission line (%v)", err)
	}
}
