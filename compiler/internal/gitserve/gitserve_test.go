package gitserve

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// A push bigger than 1 MiB (git sends it chunked) lands, and a clone
// reads it back.
func TestPushAndClone(t *testing.T) {
	s, err := Start(t.TempDir())
	if err != nil {
		testenv.Skip(t, "git server tests", "apt-get install git", "git is not installed")
	}
	defer s.Close()
	url, err := s.NewRepo("r.git")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	big := strings.Repeat("fleetc ", 400_000) // ~2.8 MB: sent chunked
	if err := os.WriteFile(filepath.Join(work, "big.txt"), []byte(big+url), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main", "-c", "pack.compression=0"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(work, "init", "-q")
	git(work, "add", "-A")
	git(work, "commit", "-q", "-m", "big")
	git(work, "push", "-q", url, "HEAD:refs/heads/main")
	clone := filepath.Join(t.TempDir(), "c")
	git("", "clone", "-q", url, clone)
	got, err := os.ReadFile(filepath.Join(clone, "big.txt"))
	if err != nil || string(got) != big+url {
		t.Fatalf("clone has %d bytes, want %d: %v", len(got), len(big+url), err)
	}
}
