package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// compileFlags are shared by compile and plan.
type compileFlags struct {
	out       string
	now       string
	approvals string
	commit    string
	signoff   string
	failOn    string
	feedback  string
	budget    budgetFlags
	verify    bool          // compile only
	lockWait  time.Duration // compile only
}

func (f *compileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "deploy tree directory; its .fleetc/state.json is the previous state (required)")
	fl.StringVar(&f.now, "now", "", "the compile's clock, RFC 3339 (default: the current time); policies see it as time.now_ns()")
	fl.StringVar(&f.approvals, "approvals", "", "approvals file (JSON) naming who approved the merge request on which commit; users map to teams in CUE, and only approvals given on --commit count")
	fl.StringVar(&f.commit, "commit", "", "the commit of --root being compiled, a full commit id; only --approvals given on it count (default: HEAD of the git checkout at --root, which must have no uncommitted changes)")
	fl.StringVar(&f.failOn, "fail-on", "", "comma list of verdicts (deny, defer, needs-signoff) that make the command exit 1 after doing its work; compile still writes the tree (default: none)")
	fl.StringVar(&f.feedback, "feedback", "", "feedback snapshot (JSON, docs/feedback.md) that rings are promoted on; without it no ring beyond the first receives a new version")
	f.budget.register(cmd)
	fl.StringVar(&f.signoff, "signoff", "hold", "changes that need sign-off: hold (keep what stores run until --approvals cover them) or propose (render them; the deploy merge request's sign-off gate holds the merge)")
}

func (f *compileFlags) options(ctx context.Context, g *globals, dryRun bool) (compiler.Options, error) {
	if f.out == "" {
		return compiler.Options{}, usagef("--out DIR is required")
	}
	now, err := parseNow(f.now)
	if err != nil {
		return compiler.Options{}, err
	}
	if f.signoff != "hold" && f.signoff != "propose" {
		return compiler.Options{}, usagef("--signoff %q: want hold or propose", f.signoff)
	}
	budget, err := f.budget.budget()
	if err != nil {
		return compiler.Options{}, err
	}
	commit, err := compiledCommit(ctx, g.root, f.commit, f.approvals)
	if err != nil {
		return compiler.Options{}, err
	}
	return compiler.Options{
		PolicyBudget: budget, Commit: commit,
		CacheDir: g.cacheDir,
		Root:     g.root, Out: f.out, Now: now, Workers: g.workers, DryRun: dryRun,
		ApprovalsFile: f.approvals, ProposeSignoff: f.signoff == "propose", Progress: g.progress(),
		FeedbackFile: f.feedback, Verify: f.verify, LockWait: f.lockWait,
	}, nil
}

// registerWrite adds the flags of a command that writes --out.
func (f *compileFlags) registerWrite(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.verify, "verify", false, "read every file in --out back and repair what differs, instead of trusting .fleetc/index and each file's size, mtime, ctime and inode")
	fl.DurationVar(&f.lockWait, "lock-wait", 0, "how long to wait for another compile writing --out to finish (e.g. 2m); 0 fails at once naming it")
}

// explainOptions: --out is optional for explain (no previous state then).
func (f *compileFlags) explainOptions(ctx context.Context, g *globals) (compiler.Options, error) {
	now, err := parseNow(f.now)
	if err != nil {
		return compiler.Options{}, err
	}
	budget, err := f.budget.budget()
	if err != nil {
		return compiler.Options{}, err
	}
	commit, err := compiledCommit(ctx, g.root, f.commit, f.approvals)
	if err != nil {
		return compiler.Options{}, err
	}
	return compiler.Options{Root: g.root, Out: f.out, Now: now, Workers: g.workers, ApprovalsFile: f.approvals, Commit: commit, CacheDir: g.cacheDir, PolicyBudget: budget}, nil
}

func newCompileCmd() *cobra.Command {
	var f compileFlags
	cmd := &cobra.Command{
		Use:   "compile --out DIR",
		Short: "Compile the fleet and write the deploy tree",
		Long: `compile runs the whole pipeline — load, target, policy gate, render, check —
and writes the deploy tree into --out atomically: a failed compile leaves the
previous tree untouched. The tree holds clusters/<store>/ (what Flux in each
store is bootstrapped to), releases/ (shared per app variant),
.fleetc/state.json (what each store runs) and .fleetc/decisions.jsonl.

The previous state is read from --out, so compiling into a checkout of the
deploy repo gives a plan against what stores run now. The same inputs (fleet,
previous state, --now, --approvals, --commit) give byte-identical output.
An approval counts only when it was given on the commit being compiled
(--commit, else the HEAD of the git checkout at --root); one given on another
commit, or naming none, is a warning and never counts.

One compile at a time writes --out: it holds --out/.fleetc/lock from before
it reads the previous state until the tree is written; a second one fails at
once naming the holder (pid, host, since when), or waits with --lock-wait. A
write a crash interrupted is finished or undone first. The disk is the
truth: a file fleetc wrote that was deleted, edited or torn is rewritten and
reported as repaired (found by its stat; --verify reads every file). Files
fleetc did not write (clusters/<store>/flux-system/ from flux bootstrap) are
never deleted or rewritten, and a symlink, device or fifo where fleetc would
write fails the compile naming the path: it is never followed.

Exit 1 when the fleet has errors (nothing is written), or when a verdict
named by --fail-on was given to any change (the tree is still written).`,
		Example: `  fleetc compile --out deploy
  fleetc compile --out deploy --now 2026-11-24T08:30:00Z --approvals approvals.json --commit "$PR_HEAD_SHA"
  fleetc compile --out deploy --format json > result.json`,
		Args: noArgs("the deploy tree is given with --out DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompile(cmd, &f, false)
		},
	}
	f.register(cmd)
	f.registerWrite(cmd)
	return cmd
}

func newPlanCmd() *cobra.Command {
	var f compileFlags
	cmd := &cobra.Command{
		Use:   "plan --out DIR",
		Short: "Show what compile would change in DIR, without writing",
		Long: `plan runs the same pipeline as compile and reports what would change against
the state in --out: per app, ring and version transition, the number of
stores and which ones, the policy verdicts with their reasons, and the share
of the fleet touched. Nothing is written.

Exit 1 when the fleet has errors, or when a verdict named by --fail-on was
given to any change (e.g. --fail-on deny,needs-signoff in a merge request
check).`,
		Example: `  fleetc plan --out deploy
  fleetc plan --out deploy --now 2026-11-26T15:00:00Z   # during the freeze
  fleetc plan --out deploy --format json | jq .plan.summary
  fleetc plan --out deploy --fail-on deny,needs-signoff`,
		Args: noArgs("the deploy tree is given with --out DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompile(cmd, &f, true)
		},
	}
	f.register(cmd)
	return cmd
}

func runCompile(cmd *cobra.Command, f *compileFlags, dryRun bool) error {
	g, err := readGlobals(cmd)
	if err != nil {
		return err
	}
	opts, err := f.options(cmd.Context(), g, dryRun)
	if err != nil {
		return err
	}
	failOn, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	res, err := compiler.Compile(cmd.Context(), opts)
	if err != nil {
		return err
	}
	if err := g.printDiags(res.Diagnostics); err != nil {
		return err
	}
	switch g.format {
	case diag.JSON:
		doc := struct {
			OK          bool                `json:"ok"`
			DryRun      bool                `json:"dryRun"`
			Diagnostics diag.List           `json:"diagnostics"`
			Halts       []haltJSON          `json:"halts,omitempty"`
			Plan        *deploy.Plan        `json:"plan,omitempty"`
			Verdicts    *gate.Summary       `json:"verdicts,omitempty"`
			Rollout     []rollout.AppStatus `json:"rollout,omitempty"`
			Written     *deploy.WriteStats  `json:"written,omitempty"`
			Recovered   string              `json:"recovered,omitempty"`
			StaleLock   *deploy.Holder      `json:"staleLock,omitempty"`
			FailedOn    []policy.Verdict    `json:"failedOn,omitempty"`
			Timings     []timing            `json:"timings,omitempty"`
		}{!res.Failed(), dryRun, nonNil(res.Diagnostics), haltsJSON(res.Halts), res.Plan, res.Verdicts, rolloutApps(res), res.Written, res.Recovered, res.StaleLock, failing(failOn, res.Verdicts), timings(res.Timings)}
		if err := writeJSON(g.stdout, doc); err != nil {
			return err
		}
	default:
		if res.Failed() {
			fmt.Fprintf(g.stderr, "%s; nothing written\n", plural(res.Diagnostics.Errors(), "error", "errors"))
			break
		}
		printPlan(g.stdout, res, dryRun)
		if vs := failing(failOn, res.Verdicts); len(vs) > 0 {
			var parts []string
			for _, v := range vs {
				parts = append(parts, fmt.Sprintf("%d %s", res.Verdicts.Verdicts[v], v))
			}
			fmt.Fprintf(g.stderr, "fleetc: exit 1: --fail-on %s: %s\n", f.failOn, strings.Join(parts, ", "))
		}
	}
	if res.Failed() || len(failing(failOn, res.Verdicts)) > 0 {
		return errFindings
	}
	return nil
}

// failOnVerdicts are the verdicts --fail-on accepts.
var failOnVerdicts = []policy.Verdict{policy.Deny, policy.Defer, policy.NeedsSignoff}

// parseFailOn reads --fail-on: a comma list of verdicts, empty for none.
func parseFailOn(s string) ([]policy.Verdict, error) {
	var out []policy.Verdict
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v := policy.Verdict(part)
		if !slices.Contains(failOnVerdicts, v) {
			return nil, usagef("--fail-on %q: unknown verdict %q (want a comma list of deny, defer, needs-signoff)", s, part)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// failing returns the verdicts of failOn that some recorded change got,
// in the order deny, defer, needs-signoff.
func failing(failOn []policy.Verdict, sum *gate.Summary) []policy.Verdict {
	if sum == nil {
		return nil
	}
	var out []policy.Verdict
	for _, v := range failOnVerdicts {
		if slices.Contains(failOn, v) && sum.Verdicts[v] > 0 {
			out = append(out, v)
		}
	}
	return out
}

// timing is a stage's duration in JSON: milliseconds as a float.
type timing struct {
	Stage  string  `json:"stage"`
	TookMs float64 `json:"tookMs"`
}

func timings(ts []compiler.Timing) []timing {
	var out []timing
	for _, t := range ts {
		out = append(out, timing{Stage: t.Stage, TookMs: float64(t.Took.Microseconds()) / 1000})
	}
	return out
}

// plural writes "1 error", "2 errors".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// rolloutApps is each app's ring progress for --format json.
func rolloutApps(res *compiler.Result) []rollout.AppStatus {
	if res.Rollout == nil {
		return nil
	}
	return res.Rollout.Apps
}
