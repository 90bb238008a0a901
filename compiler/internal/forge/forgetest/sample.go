package forgetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler"
)

// SampleNow is the clock of the sample rollout: the golden tree's.
var SampleNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// SampleRollout prepares a deploy repository for publish tests: a bare
// repository at repo whose main branch holds the sample fleet (under root)
// compiled without approvals (every first install held for sign-off), and
// in dir the sample compiled again with docs/examples/approvals.json — the
// rollout a publish turns into one merge request.
// ExampleCommit is the commit docs/examples/approvals.json approves: the
// approvals count for a compile given it as its commit.
const ExampleCommit = "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"

func SampleRollout(t testing.TB, root string) (repo, dir string) {
	t.Helper()
	tmp := t.TempDir()
	repo = filepath.Join(tmp, "deploy.git")
	seed := filepath.Join(tmp, "seed")
	dir = filepath.Join(tmp, "rollout")
	ctx := context.Background()
	for _, c := range []struct {
		out, approvals string
	}{{seed, ""}, {dir, filepath.Join(root, "docs", "examples", "approvals.json")}} {
		res, err := compiler.Compile(ctx, compiler.Options{Root: root, Out: c.out, Now: SampleNow, Workers: 2, ApprovalsFile: c.approvals, Commit: ExampleCommit})
		if err != nil {
			t.Fatalf("compile sample: %v", err)
		}
		if res.Failed() {
			t.Fatalf("compile sample: %v", res.Diagnostics.Err())
		}
	}
	git(t, tmp, "init", "-q", "--bare", repo)
	git(t, seed, "init", "-q")
	git(t, seed, "add", "-A")
	git(t, seed, "commit", "-q", "-m", "seed: the sample fleet before sign-off")
	git(t, seed, "push", "-q", repo, "HEAD:refs/heads/main")
	if err := os.RemoveAll(filepath.Join(seed, ".git")); err != nil {
		t.Fatal(err)
	}
	return repo, dir
}

func git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=fleetc", "-c", "user.email=fleetc@example.com",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// CheckSampleBody compares a merge request body of the sample rollout
// with testdata/sample-rollout.body.md beside this file, the one body
// every forge must carry. FLEETC_UPDATE_GOLDEN=1 rewrites it (make golden).
func CheckSampleBody(t testing.TB, body string) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	golden := filepath.Join(filepath.Dir(self), "testdata", "sample-rollout.body.md")
	if os.Getenv("FLEETC_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (FLEETC_UPDATE_GOLDEN=1 writes it)", err)
	}
	if body != string(want) {
		t.Errorf("merge request body differs from %s (FLEETC_UPDATE_GOLDEN=1 rewrites it):\n%s", golden, body)
	}
}
