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
	want, got := readTree(t, dir), readTree(t, clone)
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
