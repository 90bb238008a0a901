package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
)

// compileFlags are shared by compile and plan.
type compileFlags struct {
	out       string
	now       string
	approvals string
	signoff   string
}

func (f *compileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "deploy tree directory; its .fleetc/state.json is the previous state (required)")
	fl.StringVar(&f.now, "now", "", "the compile's clock, RFC 3339 (default: the current time); policies see it as time.now_ns()")
	fl.StringVar(&f.approvals, "approvals", "", "approvals file (JSON) naming who approved the merge request; users map to teams in CUE")
	fl.StringVar(&f.signoff, "signoff", "hold", "changes that need sign-off: hold (keep what stores run until --approvals cover them) or propose (render them; the deploy merge request's sign-off gate holds the merge)")
}

func (f *compileFlags) options(g *globals, dryRun bool) (compiler.Options, error) {
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
	return compiler.Options{
		Root: g.root, Out: f.out, Now: now, Workers: g.workers, DryRun: dryRun,
		ApprovalsFile: f.approvals, ProposeSignoff: f.signoff == "propose", Progress: g.progress(),
	}, nil
}

// explainOptions: --out is optional for explain (no previous state then).
func (f *compileFlags) explainOptions(g *globals) (compiler.Options, error) {
	now, err := parseNow(f.now)
	if err != nil {
		return compiler.Options{}, err
	}
	return compiler.Options{Root: g.root, Out: f.out, Now: now, Workers: g.workers, ApprovalsFile: f.approvals}, nil
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
previous state, --now, --approvals) give byte-identical output.`,
		Example: `  fleetc compile --out deploy
  fleetc compile --out deploy --now 2026-11-24T08:30:00Z --approvals approvals.json
  fleetc compile --out deploy --format json > result.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompile(cmd, &f, false)
		},
	}
	f.register(cmd)
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
of the fleet touched. Nothing is written.`,
		Example: `  fleetc plan --out deploy
  fleetc plan --out deploy --now 2026-11-26T15:00:00Z   # during the freeze
  fleetc plan --out deploy --format json | jq .plan.summary`,
		Args: cobra.NoArgs,
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
	opts, err := f.options(g, dryRun)
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
			OK          bool               `json:"ok"`
			DryRun      bool               `json:"dryRun"`
			Diagnostics diag.List          `json:"diagnostics"`
			Plan        *deploy.Plan       `json:"plan,omitempty"`
			Verdicts    *gate.Summary      `json:"verdicts,omitempty"`
			Written     *deploy.WriteStats `json:"written,omitempty"`
			Timings     []compiler.Timing  `json:"timings,omitempty"`
		}{!res.Failed(), dryRun, nonNil(res.Diagnostics), res.Plan, res.Verdicts, res.Written, res.Timings}
		if err := writeJSON(g.stdout, doc); err != nil {
			return err
		}
	default:
		if res.Failed() {
			fmt.Fprintf(g.stderr, "%d errors; nothing written\n", res.Diagnostics.Errors())
			break
		}
		printPlan(g.stdout, res, dryRun)
	}
	if res.Failed() {
		return errFindings
	}
	return nil
}
