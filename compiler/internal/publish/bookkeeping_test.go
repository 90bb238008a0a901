package publish

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// committedTree is every file of the commit res published, by path: a
// clone of its branch from the server.
func committedTree(t *testing.T, repoURL string, res *Result) map[string]string {
	t.Helper()
	clone := filepath.Join(t.TempDir(), "clone")
	gitRun(t, "", "clone", "-q", "--branch", res.Branch, repoURL, clone)
	if head := gitRun(t, clone, "rev-parse", "HEAD"); head != res.Commit {
		t.Fatalf("branch %s is at %s, want the published %s", res.Branch, head, res.Commit)
	}
	return readTree(t, clone)
}

func withoutBookkeeping(m map[string]string) map[string]string {
	out := maps.Clone(m)
	maps.DeleteFunc(out, func(p, _ string) bool { return deploy.IsBookkeeping(p) })
	return out
}

func diffKeys(a, b map[string]string) (onlyA, onlyB, differ []string) {
	for k, v := range a {
		if w, ok := b[k]; !ok {
			onlyA = append(onlyA, k)
		} else if v != w {
			differ = append(differ, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			onlyB = append(onlyB, k)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	slices.Sort(differ)
	return
}

// plantInterruptedWrite leaves in dir what a compile killed after its
// journal's commit point leaves (the journal format of deploy's apply.go):
// a plan that replaces one store file and deletes another, the new content
// in journal/new, links to the old files in journal/old, and a stale
// index. It returns the two paths.
func plantInterruptedWrite(t *testing.T, dir string) (changed, deleted string) {
	t.Helper()
	var matches []string
	err := filepath.WalkDir(filepath.Join(dir, "clusters"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && len(matches) < 2 {
			matches = append(matches, p)
		}
		return err
	})
	if err != nil || len(matches) < 2 {
		t.Fatalf("want two store files to plant a journal over, got %v (%v)", matches, err)
	}
	changed, _ = filepath.Rel(dir, matches[0])
	deleted, _ = filepath.Rel(dir, matches[1])
	changed, deleted = filepath.ToSlash(changed), filepath.ToSlash(deleted)
	j := filepath.Join(dir, ".fleetc", "journal")
	for _, sub := range []string{"new", "old"} {
		if err := os.MkdirAll(filepath.Join(j, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(matches[0])
	must(err)
	must(os.WriteFile(filepath.Join(j, "new", "0"), append(old, "# the compile's new content\n"...), 0o644))
	must(os.Link(matches[0], filepath.Join(j, "old", "0")))
	must(os.Link(matches[1], filepath.Join(j, "old", "1")))
	must(os.WriteFile(filepath.Join(j, "plan"), []byte("P 0 1 "+changed+"\nD 1 1 "+deleted+"\nend\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, ".fleetc", "index"), []byte("fleetc-index 1\nstale\n"), 0o644))
	return changed, deleted
}

// A tree a crash left half-written, with fleetc's journal and index in it,
// publishes a commit whose tree is the recovered tree: the journal rolled
// forward, and neither the journal nor the index committed.
func TestPublishCommitsTheRecoveredTreeWithoutBookkeeping(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	dir := sampleTree(t)
	changed, deleted := plantInterruptedWrite(t, dir)

	// What the tree is once recovered, from a copy.
	want := filepath.Join(t.TempDir(), "want")
	copyDir(t, dir, want)
	if err := deploy.Recover(want); err != nil {
		t.Fatalf("recover the copy: %v", err)
	}
	wantFiles := withoutBookkeeping(readTree(t, want))
	if _, ok := wantFiles[deleted]; ok || !strings.Contains(wantFiles[changed], "the compile's new content") {
		t.Fatalf("the planted journal did not recover as planned (%s, %s)", changed, deleted)
	}

	res, err := Publish(context.Background(), testOptions(t, dir, repo))
	if err != nil {
		t.Fatal(err)
	}
	got := committedTree(t, repo, res)
	for p := range got {
		if deploy.IsBookkeeping(p) {
			t.Errorf("commit has fleetc's bookkeeping %s", p)
		}
	}
	if onlyGot, onlyWant, differ := diffKeys(got, wantFiles); len(onlyGot)+len(onlyWant)+len(differ) > 0 {
		t.Fatalf("commit differs from the recovered tree: only in the commit %q, only in the tree %q, different %q", onlyGot, onlyWant, differ)
	}
	if _, err := os.Stat(filepath.Join(dir, ".fleetc", "journal")); !os.IsNotExist(err) {
		t.Errorf("the journal is still in --dir after publish (%v)", err)
	}
}

// DIR is a checkout of a deploy branch an older fleetc published with its
// index in it: the checkout's git index (which seeds publish's) lists
// .fleetc/index, and the file is on disk. The new commit drops it.
func TestPublishDropsBookkeepingAnOlderPublishCommitted(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	dir := sampleTree(t)
	if err := os.WriteFile(filepath.Join(dir, ".fleetc", "index"), []byte("fleetc-index 1\nold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "init", "-q", "--initial-branch=main")
	gitRun(t, dir, "add", "--all", "--force")
	gitRun(t, dir, "-c", "user.name=old", "-c", "user.email=old@fleetc", "commit", "-q", "-m", "an older fleetc's publish")
	gitRun(t, dir, "push", "-q", repo, "main")
	changeTree(t, dir)

	opts := testOptions(t, dir, repo)
	opts.Branch = "fleetc/rollout"
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	got := committedTree(t, repo, res)
	if _, ok := got[".fleetc/index"]; ok {
		t.Fatalf("commit %s still has .fleetc/index", res.Commit)
	}
	if onlyGot, onlyWant, differ := diffKeys(got, withoutBookkeeping(readTree(t, dir))); len(onlyGot)+len(onlyWant)+len(differ) > 0 {
		t.Fatalf("commit differs from the tree: only in the commit %q, only in the tree %q, different %q", onlyGot, onlyWant, differ)
	}
}
