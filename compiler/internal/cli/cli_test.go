package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/rollout"

	"github.com/fleetc/fleetc/internal/buildinfo"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar (cmp files)")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fleetc": func() { os.Exit(Main()) },
	})
}

// TestScripts runs every testdata/script/*.txtar scenario against fleetc
// run in-process. $REPO is the repository root, so scenarios can copy the
// sample fleet; scenarios that need a small fleet carry their own files.
//
// Each scenario is hermetic: HOME is $WORK/.home and XDG_CACHE_HOME (which
// fleetc's default --cache-dir, os.UserCacheDir()/fleetc, reads) is
// $WORK/.cache, so scenarios share no cache with each other or with the
// host. After each scenario Setup's deferred check fails it if anything
// was written under the fake HOME.
func TestScripts(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	repo, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			return hermetic(env)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"copytree": copyTree,
			"snapshot": writeSnapshot,
		},
	})
}

// hermetic points HOME and XDG_CACHE_HOME into the scenario's $WORK and,
// once the scenario ends, fails it when something was created under HOME
// (the cache must go to XDG_CACHE_HOME, nothing else may write there).
func hermetic(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	env.Setenv("HOME", home)
	env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
	t := env.T()
	env.Defer(func() {
		entries, err := os.ReadDir(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Log("created under HOME: " + filepath.Join(home, e.Name()))
		}
		if len(entries) > 0 {
			t.Fatal("scenario wrote under HOME; fleetc's cache belongs under XDG_CACHE_HOME")
		}
	})
	return nil
}

// copyTree copies a directory: copytree SRC DST.
// writeSnapshot is "snapshot DIR FILE TIME": it stands in for the stores'
// agents and the collector, writing the feedback snapshot of a fleet where
// every store of DIR's state reports at TIME that every app it runs is
// applied and Ready (since TIME).
func writeSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: snapshot DIR FILE TIME")
	}
	st, err := deploy.ReadState(ts.MkAbs(args[0]))
	ts.Check(err)
	at, err := time.Parse(time.RFC3339, args[2])
	ts.Check(err)
	b, err := json.MarshalIndent(rollout.SnapshotFromState(st, at, at), "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), append(b, '\n'), 0o644))
}

func copyTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: copytree SRC DST")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
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
	ts.Check(err)
}

func TestWriteJSONKeepsHTMLCharacters(t *testing.T) {
	var b strings.Builder
	if err := writeJSON(&b, map[string]string{"msg": "a -> b & <c>"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\n  \"msg\": \"a -> b & <c>\"\n}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseFailOn(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []policy.Verdict
		err      string
	}{
		{"empty", "", nil, ""},
		{"one", "deny", []policy.Verdict{policy.Deny}, ""},
		{"list with spaces and repeats", "defer, needs-signoff,defer", []policy.Verdict{policy.Defer, policy.NeedsSignoff}, ""},
		{"allow is not a failure", "allow", nil, `--fail-on "allow": unknown verdict "allow" (want a comma list of deny, defer, needs-signoff)`},
		{"misspelt", "deny,signoff", nil, `--fail-on "deny,signoff": unknown verdict "signoff" (want a comma list of deny, defer, needs-signoff)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFailOn(tc.in)
			if tc.err != "" {
				var ue usageError
				if err == nil || err.Error() != tc.err || !errors.As(err, &ue) {
					t.Fatalf("err %v, want usage error %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("parseFailOn(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFailing(t *testing.T) {
	sum := &gate.Summary{Verdicts: map[policy.Verdict]int{policy.Allow: 4, policy.Defer: 2, policy.NeedsSignoff: 1}}
	all := []policy.Verdict{policy.NeedsSignoff, policy.Deny, policy.Defer}
	if got, want := failing(all, sum), []policy.Verdict{policy.Defer, policy.NeedsSignoff}; !slices.Equal(got, want) {
		t.Errorf("failing = %v, want %v", got, want)
	}
	if got := failing([]policy.Verdict{policy.Deny}, sum); got != nil {
		t.Errorf("deny did not occur, failing = %v", got)
	}
	if got := failing(all, nil); got != nil {
		t.Errorf("no summary (failed compile), failing = %v", got)
	}
}

// TestUnknownCommandExitCode pins that an unknown command is a usage error
// (exit 2 with the hint) wherever it stands, without Run reading the text
// of cobra's error.
func TestUnknownCommandExitCode(t *testing.T) {
	for _, args := range [][]string{
		{"compiel"},
		{"--root", ".", "--quiet", "compiel"},
		{"--format=json", "compiel"},
		{"policy", "tset"},
	} {
		var out, errb strings.Builder
		code := Run(t.Context(), args, &out, &errb)
		if code != ExitError {
			t.Errorf("%q: exit %d, want %d", args, code, ExitError)
		}
		if !strings.Contains(errb.String(), "unknown command") || !strings.Contains(errb.String(), "Run 'fleetc --help' for usage.") {
			t.Errorf("%q: stderr %q lacks the unknown-command hint", args, errb.String())
		}
	}
	var unk usageError
	if err := unknownCommand(newRootCmd(), []string{"--root", "compile", "valdate"}); !errors.As(err, &unk) || !strings.Contains(err.Error(), `"valdate"`) {
		t.Errorf("a flag value is not the command name: got %v", err)
	}
	if err := unknownCommand(newRootCmd(), []string{"compile", "--out", "x"}); err != nil {
		t.Errorf("a known command: got %v", err)
	}
}

func TestVersionOf(t *testing.T) {
	bi := func(v string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/fleetc/fleetc", Version: v}, Settings: settings}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "a399e12c0b1d4f5e6a7b8c9d0e1f2a3b4c5d6e7f"}
	for _, tt := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "devel"},
		{bi("v1.4.0"), "v1.4.0"},
		{bi("(devel)"), "devel"},
		{bi("(devel)", rev), "devel+a399e12c0b1d"},
		{bi("(devel)", rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "devel+a399e12c0b1d.dirty"},
	} {
		if got := buildinfo.Version(tt.bi); got != tt.want {
			t.Errorf("buildinfo.Version(%+v) = %q, want %q", tt.bi, got, tt.want)
		}
	}
}
