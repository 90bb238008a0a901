package ci

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/cli"
	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// renderPlan runs .github/fleetc-plan.jq over a plan JSON document, as
// the pr workflow does.
func renderPlan(t *testing.T, planJSON []byte) string {
	t.Helper()
	jq, err := exec.LookPath("jq")
	if err != nil {
		testenv.Skip(t, "workflow plan renderer tests", "apt-get install jq", "jq is not installed (GitHub's runners have it)")
	}
	cmd := exec.Command(jq, "-r", "-f", filepath.Join(repoRoot(t), ".github", "fleetc-plan.jq"))
	cmd.Stdin = bytes.NewReader(planJSON)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// TestPlanMarkdownExact renders a small hand-written plan and compares
// every line: long store lists are cut after five with a count, table
// cells escape |, versions show their direction.
func TestPlanMarkdownExact(t *testing.T) {
	plan := `{
  "ok": true, "dryRun": true, "diagnostics": [
    {"pos": {"file": "apps/pos.cue", "line": 3, "col": 2}, "severity": "warning", "code": "x", "message": "pos pins an old chart"}
  ],
  "plan": {
    "summary": {"fleetStores": 1000, "storesTouched": 7, "share": 0.007,
      "counts": {"added": 1, "upgraded": 6, "downgraded": 0, "reconfigured": 0, "removed": 1, "unchanged": 993},
      "apps": [
        {"app": "pos", "counts": {}, "rings": [
          {"ring": "canary", "counts": {}, "transitions": [
            {"kind": "upgraded", "from": "5.11.3", "to": "5.12.0", "count": 6, "stores": ["s1", "s2", "s3", "s4", "s5", "s6"]}]},
          {"ring": "chain", "counts": {}}]},
        {"app": "kds", "counts": {}, "rings": [
          {"ring": "lab", "counts": {}, "transitions": [
            {"kind": "added", "to": "1.0.0", "count": 1, "stores": ["s7"]},
            {"kind": "removed", "from": "0.9.0", "count": 1, "stores": ["s8"]}]}]}]},
    "storesAdded": [], "storesRemoved": ["s9"], "ringMoves": [{"store": "s2", "from": "pilot", "to": "canary"}]
  },
  "verdicts": {"verdicts": {"allow": 7, "defer": 2},
    "rules": [
      {"verdict": "defer", "rule": "window.defer_window", "pos": {"file": "policies/window.rego", "line": 17, "col": 1},
       "pairs": 2, "stores": ["s3", "s4"], "apps": ["pos"], "teams": [],
       "example": "s3: pos: outside the window | closed", "nextLocal": "2026-11-24 02:00 America/Chicago"},
      {"verdict": "allow", "rule": "", "pos": {}, "pairs": 7, "stores": ["s1"], "apps": ["kds", "pos"], "example": ""}
    ]}
}`
	got := renderPlan(t, []byte(plan))
	want := "### fleetc plan\n" +
		"\n" +
		"**7 of 1000 stores touched (0.7%)**: 1 added, 6 upgraded, 0 downgraded, 0 reconfigured, 1 removed, 993 unchanged\n" +
		"\n" +
		"| app | ring | change | version | stores | which |\n" +
		"|---|---|---|---|---:|---|\n" +
		"| pos | canary | upgraded | 5.11.3 → 5.12.0 | 6 | s1, s2, s3, s4, s5, … and 1 more |\n" +
		"| kds | lab | added | → 1.0.0 | 1 | s7 |\n" +
		"| kds | lab | removed | 0.9.0 → | 1 | s8 |\n" +
		"\n" +
		"Stores removed: s9\n" +
		"\n" +
		"Ring moves: s2 pilot → canary\n" +
		"\n" +
		"#### Policy verdicts\n" +
		"\n" +
		"7 allowed, 0 denied, 2 deferred, 0 need sign-off\n" +
		"\n" +
		"| verdict | rule | pairs | stores | apps | sign-off | example |\n" +
		"|---|---|---:|---:|---|---|---|\n" +
		"| defer | `window.defer_window` `policies/window.rego:17` | 2 | 2 | pos |  | s3: pos: outside the window \\| closed (next may go ahead at 2026-11-24 02:00 America/Chicago) |\n" +
		"| allow | (no rule) | 7 | 1 | kds, pos |  |  |\n" +
		"\n" +
		"#### Warnings\n" +
		"\n" +
		"- `apps/pos.cue:3` pos pins an old chart\n"
	if got != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", got, want)
	}
}

// TestPlanMarkdownSample renders fleetc's real JSON for the sample fleet's
// first compile, so a change to the JSON that the renderer depends on
// fails here.
func TestPlanMarkdownSample(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		testenv.Skip(t, "workflow plan renderer tests", "apt-get install jq", "jq is not installed")
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"-q", "--root", repoRoot(t), "plan", "--out", t.TempDir(),
		"--now", "2026-11-24T09:00:00Z", "--signoff", "propose", "--format", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("fleetc plan: exit %d\n%s", code, stderr.String())
	}
	md := renderPlan(t, stdout.Bytes())
	for _, re := range []string{
		`(?m)^### fleetc plan$`,
		`(?m)^\*\*49 of 49 stores touched \(100%\)\*\*: \d+ added, 0 upgraded, 0 downgraded, 0 reconfigured, 0 removed, 0 unchanged$`,
		`(?m)^\| pos \| chain \| added \| → 5\.11\.3 \| \d+ \| [a-z0-9-]+(, [a-z0-9-]+){4}, … and \d+ more \|$`,
		`(?m)^\| deny \| ` + "`legal.deny_bipa` `policies/legal.rego:\\d+`" + ` \| 4 \| 4 \| drive-thru-vision \|  \| us-il-chicago-0102: drive-thru-vision: .*BIPA.* \|$`,
		`(?m)^\| needs-signoff \| ` + "`signoff\\.[a-z_]+`" + ` .* \| legal \| `,
	} {
		if !regexp.MustCompile(re).MatchString(md) {
			t.Errorf("markdown lacks %s:\n%s", re, md)
		}
	}
}

// TestPlanMarkdownFailed: when the fleet does not compile, the comment
// lists every error with its position instead of a plan.
func TestPlanMarkdownFailed(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		testenv.Skip(t, "workflow plan renderer tests", "apt-get install jq", "jq is not installed")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "package fleet\n\napps: pos: {\n\tversion: \"v5\"\n}\n"
	if err := os.WriteFile(filepath.Join(root, "apps", "pos.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"-q", "--root", root, "plan", "--out", t.TempDir(), "--format", "json"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("fleetc plan: exit %d, want 1\n%s", code, stderr.String())
	}
	md := renderPlan(t, stdout.Bytes())
	lines := strings.Split(md, "\n")
	if len(lines) < 5 || lines[2] == "" || !regexp.MustCompile(`^\*\*The fleet does not compile: [1-9]\d* errors\.\*\* Nothing would be published\.$`).MatchString(lines[2]) {
		t.Fatalf("markdown:\n%s", md)
	}
	if !regexp.MustCompile("(?m)^- error: `apps/pos\\.cue:4:\\d+` apps\\.pos\\.version: invalid value \"v5\"").MatchString(md) {
		t.Errorf("markdown lacks the version error at apps/pos.cue:4:\n%s", md)
	}
}
