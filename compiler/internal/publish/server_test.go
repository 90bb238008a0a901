package publish

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/gitserve"
	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// gitServer is a real git smart-HTTP server on loopback (package
// gitserve: git http-backend behind net/http/cgi).
type gitServer struct{ s *gitserve.Server }

func startGitServer(t *testing.T) *gitServer {
	t.Helper()
	s, err := gitserve.Start(t.TempDir())
	if err != nil {
		testenv.Skip(t, "publish tests against a real git server", "apt-get install git", "git is not installed")
	}
	t.Cleanup(func() { s.Close() })
	return &gitServer{s}
}

// newRepo creates an empty bare repository and returns its URL.
func (g *gitServer) newRepo(t *testing.T, name string) string {
	t.Helper()
	url, err := g.s.NewRepo(name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// gitRun runs git and returns its trimmed stdout.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := execGit(args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

func execGit(args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// remoteHead is the sha of a branch on the server, "" when absent.
func remoteHead(t *testing.T, repoURL, branch string) string {
	t.Helper()
	out := gitRun(t, "", "ls-remote", repoURL, "refs/heads/"+branch)
	sha, _, _ := strings.Cut(out, "\t")
	return sha
}

var testDate = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func noEnv(string) string { return "" }

// testOptions publishes dir to repoURL with a fresh cache and no
// environment (tokens of the machine running the tests stay out).
func testOptions(t *testing.T, dir, repoURL string) Options {
	return Options{
		Dir: dir, RepoURL: repoURL, Provider: "git", CacheDir: filepath.Join(t.TempDir(), "cache"),
		Date: testDate, Getenv: noEnv, RetryDelay: time.Millisecond,
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	sampleOnce sync.Once
	sampleDir  string
	sampleErr  error
)

// sampleTree compiles the sample fleet once per test binary (with the
// example approvals, at the golden clock) and returns a private copy of
// the deploy tree.
func sampleTree(t *testing.T) string {
	t.Helper()
	sampleOnce.Do(func() {
		root := repoRoot(t)
		dir, err := os.MkdirTemp("", "fleetc-publish-sample-")
		if err != nil {
			sampleErr = err
			return
		}
		sampleDir = filepath.Join(dir, "deploy")
		res, err := compiler.Compile(context.Background(), compiler.Options{
			Root: root, Out: sampleDir, Now: testDate, Workers: 2,
			ApprovalsFile: filepath.Join(root, "docs", "examples", "approvals.json"), Commit: "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e", // the commit the example approvals name
		})
		if err == nil && res.Failed() {
			err = res.Diagnostics.Err()
		}
		sampleErr = err
	})
	if sampleErr != nil {
		t.Fatalf("compile sample: %v", sampleErr)
	}
	dst := filepath.Join(t.TempDir(), "deploy")
	copyDir(t, sampleDir, dst)
	return dst
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readTree returns every file under dir by slash path, skipping .git.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sampleDir != "" {
		os.RemoveAll(filepath.Dir(sampleDir))
	}
	os.Exit(code)
}
