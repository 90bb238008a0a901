//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git runs git in dir with a fixed identity and clock, so commits are
// reproducible.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@localhost", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@localhost",
		"GIT_AUTHOR_DATE=2026-11-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-11-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// pushTagged commits files in a fresh work tree and pushes the commit to
// url's main with tag.
func pushTagged(work, url, tag string, files map[string]string) error {
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	for p, c := range files {
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "--initial-branch=main"}, {"add", "-A"}, {"commit", "-q", "-m", tag}, {"tag", tag},
		{"push", "-q", "--force", url, "HEAD:refs/heads/main", "refs/tags/" + tag},
	} {
		if _, err := git(work, args...); err != nil {
			return err
		}
	}
	return nil
}
