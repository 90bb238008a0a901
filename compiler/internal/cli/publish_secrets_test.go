package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/gitserve"
	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// fleetc publish, run as an operator would with every git trace switched
// on, against a real git server on loopback: planted secrets (a token in
// FLEETC_TOKEN, a password in the repository URL) appear in no output of
// failing and succeeding runs — stdout, stderr, every file under the test's
// directory (the deploy tree, fleetc's cache and its bare clone, HOME,
// git's trace2 file, the server's repositories) — nor on git's command
// line, recorded by a git wrapper first on PATH.
func TestPublishNeverShowsSecrets(t *testing.T) {
	realGit, err := exec.LookPath("git")
	if err != nil {
		testenv.Skip(t, "publish against a real git server", "apt-get install git", "git is not installed")
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	srv, err := gitserve.Start(filepath.Join(tmp, "server"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.NewRepo("ops/deploy.git"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", filepath.Join(tmp, "home"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))

	run := func(args ...string) (code int, stdout, stderr string) {
		var out, errb bytes.Buffer
		code = Run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	deploy := filepath.Join(tmp, "deploy")
	if code, _, stderr := run("-q", "--root", repoRoot, "compile", "--out", deploy, "--now", "2026-11-24T09:00:00Z",
		"--approvals", filepath.Join(repoRoot, "docs", "examples", "approvals.json"), "--commit", forgetest.ExampleCommit); code != 0 {
		t.Fatalf("compile: exit %d\n%s", code, stderr)
	}

	// The planted secrets, and the basic-auth credentials made of them.
	token, password := "tok-"+randomHex(t), "pw-"+randomHex(t)
	secrets := []string{token, password}
	for _, user := range []string{"deployer", "fleetc", "x-access-token", "oauth2"} {
		for _, s := range []string{token, password} {
			secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(user+":"+s)))
		}
	}
	t.Setenv("FLEETC_TOKEN", token)
	withPassword := strings.Replace(srv.URL, "http://", "http://deployer:"+password+"@", 1)

	// Every git that fleetc starts goes through the wrapper, which records
	// its arguments.
	bin, argvLog := filepath.Join(tmp, "bin"), filepath.Join(tmp, "git-argv.log")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + argvLog + "'\nexec '" + realGit + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for k, v := range map[string]string{
		"GIT_TRACE": "1", "GIT_TRACE_CURL": "1", "GIT_TRACE_PACKET": "1", "GIT_CURL_VERBOSE": "1",
		"GIT_TRACE_SETUP": "1", "GIT_TRACE_PERFORMANCE": "1", "GIT_TRACE_REDACT": "0",
		"GIT_TRACE2": "1", "GIT_TRACE2_EVENT": filepath.Join(tmp, "trace2-event.json"),
	} {
		t.Setenv(k, v)
	}

	publish := []string{"publish", "--dir", deploy, "--date", "2026-11-24T09:00:00Z", "--provider", "git"}
	runs := []struct {
		name string
		args []string
		ok   bool
		want string // in stderr (failures) or stdout (successes)
	}{
		{"plain http refused", []string{"--repo", withPassword + "/ops/deploy.git"}, false, "--insecure-http"},
		{"missing repository", []string{"--repo", withPassword + "/ops/missing.git", "--insecure-http"}, false, "fetch"},
		{"first push with the URL's password", []string{"--repo", withPassword + "/ops/deploy.git", "--insecure-http"}, true, "pushed"},
		{"second push with the token", []string{"--repo", srv.URL + "/ops/deploy.git", "--insecure-http", "--format", "json"}, true, `"pushed": true`},
		{"forge API refuses", []string{"--repo", withPassword + "/ops/deploy.git", "--insecure-http", "--provider", "gitea",
			"--base", "fleetc/rollout", "--branch", "fleetc/next"}, false, "merge request"},
	}
	for i, r := range runs {
		if i >= 3 { // something new to push
			if err := os.WriteFile(filepath.Join(deploy, "clusters", "extra.txt"), []byte(r.name+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, stdout, stderr := run(append(publish, r.args...)...)
		t.Logf("%s: exit %d\n%s%s", r.name, code, stdout, stderr)
		switch {
		case r.ok && code != 0, !r.ok && code == 0:
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", r.name, code, stdout, stderr)
		case r.ok && !strings.Contains(stdout, r.want), !r.ok && !strings.Contains(stderr, r.want):
			t.Errorf("%s: output does not say %q\nstdout: %s\nstderr: %s", r.name, r.want, stdout, stderr)
		}
		// git's traces never reach fleetc's output, redacted or not.
		for _, trace := range []string{"trace: ", "Send header", "packet: "} {
			if strings.Contains(stdout+stderr, trace) {
				t.Errorf("%s: git's trace (%q) is in fleetc's output\nstderr: %s", r.name, trace, stderr)
			}
		}
		for _, s := range secrets {
			if strings.Contains(stdout+stderr, s) {
				t.Errorf("%s: the secret %q is in fleetc's output\nstdout: %s\nstderr: %s", r.name, s, stdout, stderr)
			}
		}
	}

	argv, err := os.ReadFile(argvLog)
	if err != nil || !strings.Contains(string(argv), "push") || !strings.Contains(string(argv), srv.URL+"/ops/deploy.git") {
		t.Fatalf("the git wrapper recorded no push to the server (%v):\n%s", err, argv)
	}
	files := 0
	err = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				rel, _ := filepath.Rel(tmp, p)
				t.Errorf("the secret %q is in %s", s, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d runs, %d files and git's command lines searched for %d secrets", len(runs), files, len(secrets))
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
