package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/diag"
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
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			opts, err := f.explainOptions(g)
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

// printExplanation prints targeting, then the policy verdict.
func printExplanation(w io.Writer, e *compiler.Explanation) error {
	fmt.Fprintln(w, e.Target.String())
	runs := e.Runs
	if runs == "" {
		runs = "nothing"
	}
	fmt.Fprintf(w, "runs now: %s\n", runs)
	d := e.Decision
	if d == nil {
		_, err := fmt.Fprintln(w, "policy: no change to decide (the store neither runs nor gets the app)")
		return err
	}
	to := d.To
	if to == "" {
		to = "(removed)"
	}
	after := d.Runs
	if after == "" {
		after = "nothing"
	}
	fmt.Fprintf(w, "policy: %s (%s %s -> %s); after this compile the store runs %s\n", d.Verdict, d.Kind, orNone(d.From), to, after)
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
	if len(d.Teams) > 0 {
		fmt.Fprintf(w, "  still missing sign-off from: %s\n", strings.Join(d.Teams, ", "))
	}
	return nil
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
			fmt.Fprintf(w, "  %-20s %-10s %-14s runs now: %-10s %s\n", t.App, t.Version, verdict, orNone(e.Runs), t.VersionFrom)
		} else {
			fmt.Fprintf(w, "  %-20s %-10s %-14s runs now: %-10s %s\n", t.App, "-", verdict, orNone(e.Runs), t.Summary)
		}
	}
	_, err := fmt.Fprintf(w, "run 'fleetc explain %s APP' for the reasons\n", first.Store)
	return err
}
