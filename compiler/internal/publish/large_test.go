package publish

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPublishLarge measures publishes of real compiled trees; it runs only
// when FLEETC_PUBLISH_LARGE names two deploy trees, the first compile and
// a later one ("/tmp/d,/tmp/d2"), e.g. from
//
//	fleetc gen --stores 60000 --apps 20 --out /tmp/g
//	fleetc --root /tmp/g compile --out /tmp/d --now 2026-11-24T09:00:00Z --signoff propose
//	(bump an app's version in /tmp/g, copy /tmp/d to /tmp/d2, compile into /tmp/d2)
//
// It reports the first publish into an empty repository, then three
// publishes of the second tree on top of it (each from a copy of the warm
// cache, the server's branch reset to the first commit) from a plain
// directory and from a checkout of the first commit, and a rerun with
// nothing new.
func TestPublishLarge(t *testing.T) {
	env := os.Getenv("FLEETC_PUBLISH_LARGE")
	if env == "" {
		t.Skip("set FLEETC_PUBLISH_LARGE=FIRST_DIR,SECOND_DIR to measure")
	}
	dirs := strings.Split(env, ",")
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	bare := filepath.Join(srv.s.Root, "deploy.git")
	ctx := context.Background()
	logger := func(stage string, took time.Duration, detail string) {
		t.Logf("  %-7s %6.2fs  %s", stage, took.Seconds(), detail)
	}
	cache0 := filepath.Join(t.TempDir(), "cache0")
	opts := Options{Dir: dirs[0], RepoURL: repo, Provider: "git", CacheDir: cache0, Date: testDate, Getenv: noEnv, Progress: logger}
	start := time.Now()
	first, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first publish (empty repo): %.1fs, commit %s", time.Since(start).Seconds(), short(first.Commit))

	// A checkout of the first commit with the second tree's changes
	// written over it, as compile --out into a checkout does.
	checkout := filepath.Join(t.TempDir(), "checkout")
	start = time.Now()
	gitRun(t, "", "clone", "-q", "--branch", "fleetc/rollout", repo, checkout)
	written := syncTree(t, dirs[1], checkout)
	t.Logf("checkout prepared in %.1fs, %d files rewritten", time.Since(start).Seconds(), written)

	for _, sc := range []struct {
		name, dir string
		runs      int
	}{{"checkout", checkout, 3}, {"plain dir", dirs[1], 1}} {
		var runs []float64
		for i := range sc.runs {
			cache := filepath.Join(t.TempDir(), fmt.Sprintf("cache%d", i+1))
			if out, err := exec.Command("cp", "-a", cache0, cache).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			gitRun(t, "", "--git-dir", bare, "update-ref", "refs/heads/fleetc/rollout", first.Commit)
			o := opts
			o.Dir, o.CacheDir = sc.dir, cache
			start := time.Now()
			res, err := Publish(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start).Seconds()
			runs = append(runs, d)
			t.Logf("%s run %d: change publish %.1fs: %s", sc.name, i+1, d, res.Subject)
			if i == sc.runs-1 {
				start = time.Now()
				again, err := Publish(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s rerun with nothing new: %.1fs (pushed %v); body %d bytes", sc.name, time.Since(start).Seconds(), again.Pushed, len(res.Body))
			}
			os.RemoveAll(cache)
		}
		slices.Sort(runs)
		t.Logf("%s change publish: median %.1fs of %v", sc.name, runs[len(runs)/2], runs)
	}
}

// syncTree makes dst's files (outside .git) equal src's, writing only the
// files that differ, and returns how many it wrote or removed.
func syncTree(t *testing.T, src, dst string) int {
	t.Helper()
	want := map[string]bool{}
	n := 0
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		want[rel] = true
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if old, err := os.ReadFile(target); err == nil && string(old) == string(b) {
			return nil
		}
		n++
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dst, p)
		if !want[rel] {
			n++
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
