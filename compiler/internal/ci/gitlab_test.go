package ci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// gitlabFiles extracts the YAML blocks of docs/gitlab-ci.md, each
// announced by an HTML comment "<!-- file: NAME -->" on the line before
// its fence.
func gitlabFiles(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "gitlab-ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^<!-- file: ([^>]+?) -->\n```yaml\n(.*?)^```$")
	files := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		files[m[1]] = m[2]
	}
	return files
}

// gitlabReserved are the top-level keys of .gitlab-ci.yml that are not jobs.
var gitlabReserved = []string{"stages", "workflow", "default", "variables", "include", "image", "services", "cache", "before_script", "after_script"}

type gitlabJob struct {
	Stage         string   `yaml:"stage"`
	Extends       string   `yaml:"extends"`
	Needs         []string `yaml:"needs"`
	Script        []string `yaml:"script"`
	BeforeScript  []string `yaml:"before_script"`
	ResourceGroup string   `yaml:"resource_group"`
	Rules         []struct {
		If string `yaml:"if"`
	} `yaml:"rules"`
}

// gitlabPipeline decodes one file into its stages and jobs (hidden jobs,
// named with a leading dot, included) and checks the references between
// them: every visible job has a known stage and a script (its own or
// through extends), every needs and extends names a job.
func gitlabPipeline(t *testing.T, name, src string) (stages []string, jobs map[string]gitlabJob) {
	t.Helper()
	return gitlabPipelineT(t, name, src)
}

// reporter is the part of testing.T the structural checks use.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// fakeT records errors; Fatalf stops the check by panicking.
type fakeT struct{ errs []string }

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatalf(format string, args ...any) { f.Errorf(format, args...); panic("fatal") }

func gitlabPipelineT(t reporter, name, src string) (stages []string, jobs map[string]gitlabJob) {
	t.Helper()
	var top map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(src), &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	st := top["stages"]
	if err := st.Decode(&stages); err != nil || len(stages) == 0 {
		t.Fatalf("%s: stages: %v", name, err)
	}
	jobs = map[string]gitlabJob{}
	for key, n := range top {
		if slices.Contains(gitlabReserved, key) {
			continue
		}
		var j gitlabJob
		if err := n.Decode(&j); err != nil {
			t.Fatalf("%s: job %s: %v", name, key, err)
		}
		jobs[key] = j
	}
	// resolve follows extends (one level is all these files use, but
	// chains are followed).
	var resolve func(string, int) gitlabJob
	resolve = func(key string, depth int) gitlabJob {
		j := jobs[key]
		if j.Extends == "" || depth > 5 {
			return j
		}
		if _, ok := jobs[j.Extends]; !ok {
			t.Errorf("%s: job %s extends unknown %s", name, key, j.Extends)
			return j
		}
		p := resolve(j.Extends, depth+1)
		if j.Script == nil {
			j.Script = p.Script
		}
		if j.BeforeScript == nil {
			j.BeforeScript = p.BeforeScript
		}
		if j.Rules == nil {
			j.Rules = p.Rules
		}
		return j
	}
	resolved := map[string]gitlabJob{}
	for key := range jobs {
		resolved[key] = resolve(key, 0)
	}
	for key, j := range resolved {
		if strings.HasPrefix(key, ".") {
			continue
		}
		if !slices.Contains(stages, j.Stage) {
			t.Errorf("%s: job %s: stage %q is not in %v", name, key, j.Stage, stages)
		}
		if len(j.Script) == 0 {
			t.Errorf("%s: job %s has no script", name, key)
		}
		for _, need := range j.Needs {
			if _, ok := jobs[need]; !ok || strings.HasPrefix(need, ".") {
				t.Errorf("%s: job %s needs unknown job %s", name, key, need)
			}
		}
	}
	return stages, resolved
}

// shellSyntax checks a job's commands with bash -n, as the runner joins
// them into one script.
func shellSyntax(t *testing.T, what string, lines []string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Skip(t, "GitLab CI job shell checks", "apt-get install bash", "no bash")
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: bash -n: %v\n%s", what, err, out)
	}
}

func joined(j gitlabJob) string {
	return strings.Join(append(slices.Clone(j.BeforeScript), j.Script...), "\n")
}

func TestGitLabMonorepo(t *testing.T) {
	src, ok := gitlabFiles(t)["monorepo .gitlab-ci.yml"]
	if !ok {
		t.Fatal("docs/gitlab-ci.md has no monorepo .gitlab-ci.yml block")
	}
	stages, jobs := gitlabPipeline(t, "monorepo", src)
	if !slices.Equal(stages, []string{"check", "plan", "publish"}) {
		t.Errorf("stages = %v", stages)
	}
	want := map[string][]string{
		"validate":    {"go build -o /usr/local/bin/fleetc ./compiler/cmd/fleetc", "fleetc validate"},
		"policy-test": {"fleetc policy test"},
		"codeowners":  {"fleetc codeowners --check --out .gitlab/CODEOWNERS"},
		"plan": {"fleetc -q plan --out deploy --signoff propose --format json", "jq -r -f .github/fleetc-plan.jq plan.json",
			"<!-- fleetc-plan -->", "--request PUT", "--request POST", `exit "$code"`},
		"publish": {"fleetc compile --out deploy --signoff propose", `FLEETC_TOKEN="$DEPLOY_TOKEN" fleetc publish --dir deploy --repo "$DEPLOY_URL"`,
			"--provider gitlab --base main --branch fleetc/rollout"},
	}
	for key, parts := range want {
		j, ok := jobs[key]
		if !ok {
			t.Errorf("no job %s", key)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(joined(j), p) {
				t.Errorf("job %s does not run %q", key, p)
			}
		}
		shellSyntax(t, "job "+key, append(slices.Clone(j.BeforeScript), j.Script...))
	}
	for _, key := range []string{"validate", "policy-test", "codeowners", "plan"} {
		if r := jobs[key].Rules; len(r) != 1 || r[0].If != `$CI_PIPELINE_SOURCE == "merge_request_event"` {
			t.Errorf("job %s rules = %+v, want merge request pipelines only", key, r)
		}
	}
	pub := jobs["publish"]
	if pub.ResourceGroup == "" {
		t.Error("publish has no resource_group: two publishes could run at once")
	}
	var sources []string
	for _, r := range pub.Rules {
		sources = append(sources, r.If)
	}
	if !slices.Contains(sources, `$CI_PIPELINE_SOURCE == "schedule"`) || slices.ContainsFunc(sources, func(s string) bool { return strings.Contains(s, "merge_request_event") }) {
		t.Errorf("publish rules = %q: want the schedule and never merge requests", sources)
	}
}

func TestGitLabDeploy(t *testing.T) {
	src, ok := gitlabFiles(t)["deploy .gitlab-ci.yml"]
	if !ok {
		t.Fatal("docs/gitlab-ci.md has no deploy .gitlab-ci.yml block")
	}
	stages, jobs := gitlabPipeline(t, "deploy", src)
	if !slices.Equal(stages, []string{"signoff"}) || len(jobs) != 1 {
		t.Errorf("stages %v, jobs %d: want one signoff job", stages, len(jobs))
	}
	j := jobs["signoff"]
	for _, p := range []string{`"$TRIGGER_PAYLOAD"`, ".object_attributes.iid", "source_branch=fleetc/rollout", "CI_MERGE_REQUEST_IID",
		`FLEETC_TOKEN="$SIGNOFF_TOKEN" fleetc signoff --root monorepo --repo "$DEPLOY_URL"`, `--provider gitlab --mr "$MR" --auto-merge`} {
		if !strings.Contains(joined(j), p) {
			t.Errorf("signoff does not use %q", p)
		}
	}
	if j.ResourceGroup == "" {
		t.Error("signoff has no resource_group")
	}
	shellSyntax(t, "job signoff", j.Script)
	var top struct {
		Workflow struct {
			Rules []struct {
				If string `yaml:"if"`
			} `yaml:"rules"`
		} `yaml:"workflow"`
	}
	if err := yaml.Unmarshal([]byte(src), &top); err != nil {
		t.Fatal(err)
	}
	var ifs []string
	for _, r := range top.Workflow.Rules {
		ifs = append(ifs, r.If)
	}
	for _, want := range []string{`$CI_PIPELINE_SOURCE == "trigger"`, `$CI_PIPELINE_SOURCE == "schedule"`} {
		if !slices.Contains(ifs, want) {
			t.Errorf("workflow rules %q lack %s", ifs, want)
		}
	}
}

// TestGitLabChecksCatch: the structural checks report a broken file.
func TestGitLabChecksCatch(t *testing.T) {
	src := "stages: [check]\n.base:\n  script: [\"true\"]\nbuild:\n  stage: test\n  extends: .missing\n  needs: [nope]\n"
	ft := &fakeT{}
	func() {
		defer func() { _ = recover() }()
		gitlabPipelineT(ft, "bad", src)
	}()
	want := []string{
		"bad: job build extends unknown .missing",
		`bad: job build: stage "test" is not in [check]`,
		"bad: job build has no script",
		"bad: job build needs unknown job nope",
	}
	if !slices.Equal(ft.errs, want) {
		t.Errorf("errors:\ngot  %q\nwant %q", ft.errs, want)
	}
}
