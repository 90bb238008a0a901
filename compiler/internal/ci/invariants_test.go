package ci

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// pinned is a version tag (v4, v4.2.1) or a full commit id.
var pinned = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$`)

// wantMajor is the version each well-known action is pinned to.
var wantMajor = map[string]string{
	"actions/checkout":        "v4",
	"actions/setup-go":        "v5",
	"actions/github-script":   "v7",
	"actions/upload-artifact": "v4",
}

// commonProblems are the rules every workflow follows: no permissions by
// default and an explicit set per job, actions pinned to a version,
// checkouts that do not keep the token in .git/config, Go from go.mod,
// secrets and event payloads reaching scripts only through env.
func commonProblems(w *workflow) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if w.Permissions == nil || w.Permissions.Kind != yaml.MappingNode || len(w.Permissions.Content) != 0 {
		add("top-level permissions must be {} (each job asks for its own)")
	}
	if len(w.Jobs) == 0 {
		add("no jobs")
	}
	for _, name := range sortedKeys(w.Jobs) {
		j := w.Jobs[name]
		if j.Permissions == nil {
			add("job %s: no permissions map (got %q)", name, j.permissionsScalar)
		}
		for perm, level := range j.Permissions {
			if level != "read" && level != "write" && level != "none" {
				add("job %s: permission %s: %q", name, perm, level)
			}
		}
		for i, s := range j.Steps {
			where := fmt.Sprintf("job %s step %d (%s)", name, i+1, s.Name)
			if s.Uses != "" && !strings.HasPrefix(s.Uses, "./") {
				if !pinned.MatchString(s.Uses) {
					add("%s: %s is not pinned to a version", where, s.Uses)
				}
				action, ref, _ := strings.Cut(s.Uses, "@")
				if want, ok := wantMajor[action]; ok && ref != want {
					add("%s: %s, want @%s", where, s.Uses, want)
				}
				switch action {
				case "actions/checkout":
					if s.With["persist-credentials"] != "false" {
						add("%s: checkout without persist-credentials: false", where)
					}
				case "actions/setup-go":
					if !strings.HasSuffix(s.With["go-version-file"], "go.mod") || s.With["go-version"] != "" {
						add("%s: setup-go must take the Go version from go.mod", where)
					}
				}
			}
			if strings.Contains(s.Run, "secrets.") {
				add("%s: a secret is expanded into the script; pass it through env", where)
			}
			if strings.Contains(s.Run, "${{ github.event") {
				add("%s: an event field is expanded into the script; pass it through env", where)
			}
			if strings.Contains(s.Run, "set -x") {
				add("%s: set -x would print the environment's tokens", where)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// steps returns every step of the workflow.
func (w *workflow) steps() []step {
	var all []step
	for _, name := range sortedKeys(w.Jobs) {
		all = append(all, w.Jobs[name].Steps...)
	}
	return all
}

// runs reports whether some step's script contains every one of parts.
func (w *workflow) runs(parts ...string) bool {
	return slices.ContainsFunc(w.steps(), func(s step) bool {
		for _, p := range parts {
			if !strings.Contains(s.Run, p) {
				return false
			}
		}
		return true
	})
}

// eventTypes decodes on.<event>.types.
func (w *workflow) eventTypes(t *testing.T, event string) []string {
	n, ok := w.On[event]
	if !ok {
		t.Fatalf("no %s trigger", event)
	}
	var v struct {
		Types []string `yaml:"types"`
	}
	if err := n.Decode(&v); err != nil {
		t.Fatalf("on.%s: %v", event, err)
	}
	return v.Types
}

func TestWorkflowRules(t *testing.T) {
	for _, rel := range workflowFiles(t) {
		t.Run(rel, func(t *testing.T) {
			w, _ := readWorkflow(t, rel)
			for _, p := range commonProblems(w) {
				t.Errorf("%s: %s", rel, p)
			}
		})
	}
}

// TestWorkflowRulesCatch: each common rule reports a workflow that breaks it.
func TestWorkflowRulesCatch(t *testing.T) {
	src := `
permissions: write-all
jobs:
  a:
    permissions: read-all
    steps:
      - uses: actions/checkout@main
      - uses: actions/setup-go@v5
        with: {go-version: "1.26"}
      - uses: actions/github-script@v6
      - run: 'curl -H "Authorization: ${{ secrets.TOKEN }}" https://example.com'
      - run: echo "${{ github.event.pull_request.title }}"
      - run: set -x; deploy
`
	var w workflow
	if err := yaml.Unmarshal([]byte(src), &w); err != nil {
		t.Fatal(err)
	}
	if err := w.decodePermissions([]byte(src)); err != nil {
		t.Fatal(err)
	}
	got := commonProblems(&w)
	want := []string{
		"top-level permissions must be {} (each job asks for its own)",
		`job a: no permissions map (got "read-all")`,
		"job a step 1 (): actions/checkout@main is not pinned to a version",
		"job a step 1 (): actions/checkout@main, want @v4",
		"job a step 1 (): checkout without persist-credentials: false",
		"job a step 2 (): setup-go must take the Go version from go.mod",
		"job a step 3 (): actions/github-script@v6, want @v7",
		"job a step 4 (): a secret is expanded into the script; pass it through env",
		"job a step 5 (): an event field is expanded into the script; pass it through env",
		"job a step 6 (): set -x would print the environment's tokens",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", got, want)
	}
}

func TestPRWorkflow(t *testing.T) {
	w, _ := readWorkflow(t, ".github/workflows/pr.yml")
	if _, ok := w.On["pull_request"]; !ok || len(w.On) != 1 {
		t.Errorf("pr.yml triggers on %v, want pull_request only", sortedKeys(w.On))
	}
	for _, cmd := range [][]string{
		{"fleetc validate", "--format github"},
		{"fleetc policy test", "--format github"},
		{"fleetc codeowners --check"},
		{"fleetc", "plan --out deploy", "--format json", "--signoff propose"},
		{"jq -r -f .github/fleetc-plan.jq"},
		{`>> "$GITHUB_STEP_SUMMARY"`},
	} {
		if !w.runs(cmd...) {
			t.Errorf("pr.yml: no step runs %q", cmd)
		}
	}
	plan, ok := w.Jobs["plan"]
	if !ok {
		t.Fatal("pr.yml: no plan job")
	}
	if plan.Permissions["pull-requests"] != "write" || plan.Permissions["contents"] != "read" || len(plan.Permissions) != 2 {
		t.Errorf("plan job permissions = %v, want contents: read, pull-requests: write", plan.Permissions)
	}
	if check := w.Jobs["check"]; len(check.Permissions) != 1 || check.Permissions["contents"] != "read" {
		t.Errorf("check job permissions = %v, want contents: read only", check.Permissions)
	}
	// One comment, updated: the script finds the marker among the bot's
	// comments and updates it, else creates it.
	var script string
	for _, s := range plan.Steps {
		if strings.HasPrefix(s.Uses, "actions/github-script@") {
			script = s.With["script"]
		}
	}
	for _, want := range []string{"'<!-- fleetc-plan -->'", "github.paginate(github.rest.issues.listComments", "c.body.includes(marker)", "updateComment", "createComment", "body = marker + "} {
		if !strings.Contains(script, want) {
			t.Errorf("comment script lacks %q", want)
		}
	}
	if strings.Index(script, "updateComment") > strings.Index(script, "createComment") {
		t.Error("comment script creates before it looks for the previous comment")
	}
}

func TestPublishWorkflow(t *testing.T) {
	w, _ := readWorkflow(t, ".github/workflows/publish.yml")
	var schedule []struct {
		Cron string `yaml:"cron"`
	}
	n := w.On["schedule"]
	if err := n.Decode(&schedule); err != nil || len(schedule) != 1 || schedule[0].Cron != "*/15 * * * *" {
		t.Errorf("schedule = %+v (%v), want one cron */15 * * * *", schedule, err)
	}
	var push struct {
		Branches []string `yaml:"branches"`
	}
	n = w.On["push"]
	if err := n.Decode(&push); err != nil || !slices.Equal(push.Branches, []string{"main"}) {
		t.Errorf("push branches = %v (%v), want [main]", push.Branches, err)
	}
	if _, ok := w.On["workflow_dispatch"]; !ok {
		t.Error("publish.yml cannot be run by hand: no workflow_dispatch")
	}
	if w.Concurrency == nil || w.Concurrency.Group == "" || w.Concurrency.CancelInProgress {
		t.Errorf("concurrency = %+v, want one group that queues (cancel-in-progress: false)", w.Concurrency)
	}
	if strings.Contains(w.Concurrency.Group, "${{") {
		t.Errorf("concurrency group %q varies by run; publishes would race", w.Concurrency.Group)
	}
	if !w.runs("fleetc compile --out deploy", "--signoff propose") {
		t.Error("publish.yml does not compile with --signoff propose")
	}
	if !w.runs("fleetc publish --dir deploy", "--provider github", "--branch fleetc/rollout", "--base") {
		t.Error("publish.yml does not publish the rollout branch")
	}
	for name, j := range w.Jobs {
		if len(j.Permissions) != 1 || j.Permissions["contents"] != "read" {
			t.Errorf("job %s permissions = %v: the deploy repo is written with its own token, the monorepo only read", name, j.Permissions)
		}
	}
}

func TestSignoffTemplate(t *testing.T) {
	w, _ := readWorkflow(t, "docs/workflows/signoff.yml")
	if got := w.eventTypes(t, "pull_request_review"); !slices.Equal(got, []string{"submitted", "dismissed"}) {
		t.Errorf("pull_request_review types = %v, want [submitted dismissed]", got)
	}
	if got := w.eventTypes(t, "pull_request"); !slices.Contains(got, "synchronize") {
		t.Errorf("pull_request types = %v, want synchronize among them (a push voids approvals of the old head)", got)
	}
	if !w.runs("fleetc signoff", "--root monorepo", "--provider github", `--mr "$MR"`, "--auto-merge") {
		t.Error("signoff.yml does not run fleetc signoff --auto-merge")
	}
	j, ok := w.Jobs["signoff"]
	if !ok {
		t.Fatal("no signoff job")
	}
	want := map[string]string{"contents": "write", "pull-requests": "write", "statuses": "write"}
	if fmt.Sprint(j.Permissions) != fmt.Sprint(want) {
		t.Errorf("signoff permissions = %v, want %v", j.Permissions, want)
	}
	if !strings.Contains(j.If, "fleetc/rollout") {
		t.Errorf("signoff job runs for every pull request (if: %q); want only fleetc/rollout", j.If)
	}
	if w.Concurrency == nil || w.Concurrency.CancelInProgress {
		t.Errorf("concurrency = %+v, want per-MR and queued", w.Concurrency)
	}
}

// exprRE matches a GitHub expression, replaced by a word before bash -n.
var exprRE = regexp.MustCompile(`\$\{\{.*?\}\}`)

// TestWorkflowShellSyntax checks every run: script with bash -n
// (shellcheck is not installed here; actionlint would run it in CI).
func TestWorkflowShellSyntax(t *testing.T) {
	for _, rel := range workflowFiles(t) {
		w, _ := readWorkflow(t, rel)
		for _, name := range sortedKeys(w.Jobs) {
			for i, s := range w.Jobs[name].Steps {
				if s.Run != "" {
					shellSyntax(t, fmt.Sprintf("%s job %s step %d", rel, name, i+1), []string{exprRE.ReplaceAllString(s.Run, "EXPR")})
				}
			}
		}
	}
}
