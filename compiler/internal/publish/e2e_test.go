package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// End to end: compile the sample fleet, publish the tree to a real git
// server, clone the branch back and find exactly the compiled files.
func TestPublishEndToEndClone(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	dir := sampleTree(t)
	// DIR may be a checkout: its .git is not published.
	if err := os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress []string
	opts := testOptions(t, dir, repo)
	opts.Progress = func(stage string, _ time.Duration, detail string) { progress = append(progress, stage+": "+detail) }
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	gitRun(t, "", "clone", "-q", "--branch", "fleetc/rollout", repo, clone)
	if head := gitRun(t, clone, "rev-parse", "HEAD"); head != res.Commit {
		t.Fatalf("clone at %s, want %s", head, res.Commit)
	}
	// The clone is what fleetc rendered: the tree without its bookkeeping
	// (the compile's .fleetc/index).
	want, got := withoutBookkeeping(readTree(t, dir)), readTree(t, clone)
	if len(got) != len(want) {
		t.Errorf("clone has %d files, the deploy tree %d", len(got), len(want))
	}
	stores := 0
	for name, content := range want {
		if strings.HasPrefix(name, "clusters/") {
			stores++
		}
		if got[name] != content {
			t.Errorf("%s differs in the clone", name)
		}
	}
	if stores < 49 {
		t.Errorf("only %d files under clusters/", stores)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("clone has %s, which is not in the deploy tree", name)
		}
	}
	for _, stage := range []string{"fetch: main (absent), fleetc/rollout (absent)", "tree: tree ", "commit: ", "push: " + short(res.Commit) + " to fleetc/rollout: "} {
		if !containsLine(progress, stage) {
			t.Errorf("no progress line %q in:\n%s", stage, strings.Join(progress, "\n"))
		}
	}
}

// Publishing from a checkout of the deploy repository reuses the
// checkout's index (only files the compile rewrote are hashed); a
// checkout whose blobs the cache lacks falls back to hashing everything.
func TestPublishFromCheckout(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	ctx := context.Background()
	first, err := Publish(ctx, testOptions(t, sampleTree(t), repo))
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	gitRun(t, "", "clone", "-q", "--branch", "fleetc/rollout", repo, clone)
	changed := changeTree(t, clone)

	var progress []string
	opts := testOptions(t, clone, repo)
	opts.Progress = func(stage string, _ time.Duration, detail string) { progress = append(progress, stage+": "+detail) }
	res, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !containsLine(progress, "tree: ") || !strings.Contains(strings.Join(progress, "\n"), "unchanged files known from the checkout's index") {
		t.Errorf("the checkout's index was not used:\n%s", strings.Join(progress, "\n"))
	}
	diff := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "diff", "--name-only", first.Commit, res.Commit)
	if diff != changed {
		t.Fatalf("commit changes %q, want %q", diff, changed)
	}

	// A checkout with its own unrelated history: its blobs are not in the
	// cache, so publish hashes everything and still gets the same tree.
	other := sampleTree(t)
	if err := os.WriteFile(filepath.Join(other, "releases", "only-here.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Older than the index, so git trusts the index entry (not racily clean).
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(other, "releases", "only-here.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	gitRun(t, other, "init", "-q")
	gitRun(t, other, "add", "-A")
	progress = nil
	opts = testOptions(t, other, repo)
	opts.Progress = func(stage string, _ time.Duration, detail string) { progress = append(progress, stage+": "+detail) }
	again, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Pushed || again.Parent != res.Commit {
		t.Fatalf("fallback publish = %+v, want a commit on %s", again, res.Commit)
	}
	if got := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "show", again.Commit+":releases/only-here.txt"); got != "x" {
		t.Errorf("only-here.txt = %q", got)
	}
	if strings.Contains(strings.Join(progress, "\n"), "checkout's index") {
		t.Errorf("fallback still claims the checkout's index:\n%s", strings.Join(progress, "\n"))
	}
}
