package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

func newExplainCmd() *cobra.Command {
	var f compileFlags
	cmd := &cobra.Command{
		Use:   "explain STORE [APP]",
		Short: "Explain why an app is (not) on a store",
		Long: `explain answers "why is app X (not) on store Y" for any pair: the store's
groups and why it is in each, its ring and why, the app's target selector
term by term (which requirement matched or failed, and on what value), the
version and where it came from (app version or ring pin), each value with the
layer it came from (app, group override, store), and every policy's verdict
with its reason and Rego position.

With only STORE, it lists every app with whether the store gets it.`,
		Example: `  fleetc explain us-il-chicago-0101 drive-thru-vision
  fleetc explain qc-montreal-0201 menu-boards --now 2026-11-27T15:00:00Z
  fleetc explain us-az-phoenix-0303 --format json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("explain takes STORE and optionally APP, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			opts, err := f.explainOptions(cmd.Context(), g)
			if err != nil {
				return err
			}
			res, exps, err := compiler.Explain(cmd.Context(), opts, args[0], args[1:])
			var unknown *target.UnknownError
			if errors.As(err, &unknown) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if err := g.printDiags(res.Diagnostics); err != nil {
				return err
			}
			if g.format == diag.JSON {
				if err := writeJSON(g.stdout, struct {
					Diagnostics  diag.List              `json:"diagnostics"`
					Explanations []compiler.Explanation `json:"explanations"`
				}{nonNil(res.Diagnostics), exps}); err != nil {
					return err
				}
			}
			if res.Failed() {
				return errFindings
			}
			if g.format == diag.JSON {
				return nil
			}
			if len(args) == 2 {
				return printExplanation(g.stdout, &exps[0])
			}
			return printStoreOverview(g.stdout, exps)
		},
	}
	f.register(cmd)
	return cmd
}

// printExplanation prints the outcome after the gate, then targeting,
// then the policy verdict with its reasons.
func printExplanation(w io.Writer, e *compiler.Explanation) error {
	fmt.Fprintln(w, headline(e))
	fmt.Fprintln(w, e.Target.String())
	fmt.Fprintf(w, "runs now: %s\n", orNothing(e.Runs))
	d := e.Decision
	if d == nil {
		_, err := fmt.Fprintln(w, "policy: no change to decide (the store neither runs nor gets the app)")
		return err
	}
	to := d.To
	if to == "" {
		to = "(removed)"
	}
	fmt.Fprintf(w, "policy: %s (%s %s -> %s); after this compile the store runs %s\n", d.Verdict, d.Kind, orNone(d.From), to, orNothing(d.Runs))
	for _, r := range d.Reasons {
		fmt.Fprintf(w, "  %-13s %s: %s\n", r.Verdict, r.Rule, r.Msg)
		if len(r.Teams) > 0 {
			fmt.Fprintf(w, "                sign-off from: %s\n", strings.Join(r.Teams, ", "))
		}
		if r.Pos.IsValid() {
			fmt.Fprintf(w, "                at %s\n", r.Pos)
		}
	}
	if len(d.Reasons) == 0 {
		fmt.Fprintln(w, "  no policy objected")
	}
	if teams := missingTeams(d); len(teams) > 0 {
		fmt.Fprintf(w, "  still missing sign-off from: %s\n", strings.Join(teams, ", "))
	}
	return nil
}

// headline states the outcome after the gate in one line: what targeting
// asks for, whether the policies let it happen, and what the store runs.
func headline(e *compiler.Explanation) string {
	t, d := e.Target, e.Decision
	if d == nil {
		return fmt.Sprintf("%s is not on %s and does not get it: %s", t.App, t.Store, afterColon(t.Summary))
	}
	what := fmt.Sprintf("%s %s is targeted at %s", t.App, d.To, t.Store)
	if d.To == "" {
		what = fmt.Sprintf("%s is no longer targeted at %s", t.App, t.Store)
	}
	after := orNothing(d.Runs)
	rules := verdictRules(d)
	switch d.Verdict {
	case policy.Allow:
		if d.From == d.To {
			return fmt.Sprintf("%s and runs there unchanged", what)
		}
		return fmt.Sprintf("%s: after this compile the store runs %s", what, after)
	case policy.Defer:
		return fmt.Sprintf("%s, but deferred: the store keeps running %s (%s)", what, after, rules)
	case policy.NeedsSignoff:
		return fmt.Sprintf("%s, but it needs sign-off from %s: the store keeps running %s (%s)", what, strings.Join(missingTeams(d), ", "), after, rules)
	case policy.Deny:
		return fmt.Sprintf("%s, but denied: after this compile the store runs %s (%s)", what, after, rules)
	}
	return fmt.Sprintf("%s; verdict %s: after this compile the store runs %s", what, d.Verdict, after)
}

// verdictRules names the rules that gave the decision its verdict.
func verdictRules(d *gate.Decision) string {
	var rules []string
	for _, r := range d.Reasons {
		if r.Verdict == d.Verdict && !slices.Contains(rules, r.Rule) {
			rules = append(rules, r.Rule)
		}
	}
	if len(rules) == 0 {
		return "no rule named"
	}
	return strings.Join(rules, ", ")
}

// missingTeams are the teams whose sign-off the change still lacks: the
// decision's, or, when a defer or deny outranks the sign-off, those of the
// needs-signoff reasons.
func missingTeams(d *gate.Decision) []string {
	if len(d.Teams) > 0 {
		return d.Teams
	}
	var teams []string
	for _, r := range d.Reasons {
		if r.Verdict != policy.NeedsSignoff {
			continue
		}
		for _, t := range r.Teams {
			if !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
	}
	slices.Sort(teams)
	return teams
}

// afterColon is the reason part of a target summary ("app x is not ...:
// reason").
func afterColon(s string) string {
	if _, why, ok := strings.Cut(s, ": "); ok {
		return why
	}
	return s
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// printStoreOverview lists the store's groups and ring once, then one line
// per app with its version and verdict.
func printStoreOverview(w io.Writer, exps []compiler.Explanation) error {
	if len(exps) == 0 {
		return nil
	}
	first := exps[0].Target
	fmt.Fprintf(w, "store %s\n", first.Store)
	fmt.Fprintf(w, "groups:")
	if len(first.Groups) == 0 {
		fmt.Fprint(w, " none")
	}
	for _, gr := range first.Groups {
		fmt.Fprintf(w, " %s", gr.Name)
	}
	fmt.Fprintf(w, "\nring: %s\napps:\n", first.Ring)
	for _, e := range exps {
		t := e.Target
		verdict := "-"
		if e.Decision != nil {
			verdict = string(e.Decision.Verdict)
		}
		if t.Assigned {
			fmt.Fprintf(w, "  %-20s %-10s %-14s runs now: %-10s %s\n", t.App, t.Version, verdict, orNothing(e.Runs), t.VersionFrom)
		} else {
			fmt.Fprintf(w, "  %-20s %-10s %-14s runs now: %-10s %s\n", t.App, "-", verdict, orNothing(e.Runs), t.Summary)
		}
	}
	_, err := fmt.Fprintf(w, "run 'fleetc explain %s APP' for the reasons\n", first.Store)
	return err
}
