package cli

import (
	"errors"
	"fmt"
	"io"

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
			res, err := compiler.Analyze(cmd.Context(), compiler.Options{Root: g.root, Workers: g.workers})
			if err != nil {
				return err
			}
			if res.Failed() {
				if err := g.printDiags(res.Diagnostics); err != nil {
					return err
				}
				if g.format == diag.JSON {
					return writeJSON(g.stdout, struct {
						Diagnostics diag.List `json:"diagnostics"`
					}{res.Diagnostics})
				}
				return errFindings
			}
			apps := args[1:]
			if len(apps) == 0 {
				for _, a := range res.Fleet.Apps {
					apps = append(apps, a.ID)
				}
			}
			var exps []*target.Explanation
			for _, app := range apps {
				e, err := res.Targets.Explain(args[0], app)
				var unknown *target.UnknownError
				if errors.As(err, &unknown) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				exps = append(exps, e)
			}
			if g.format == diag.JSON {
				return writeJSON(g.stdout, struct {
					Explanations []*target.Explanation `json:"explanations"`
				}{exps})
			}
			if len(args) == 2 {
				_, err := fmt.Fprintln(g.stdout, exps[0].String())
				return err
			}
			return printStoreOverview(g.stdout, exps)
		},
	}
	f.register(cmd)
	return cmd
}

// printStoreOverview lists the store's groups and ring once, then one line
// per app.
func printStoreOverview(w io.Writer, exps []*target.Explanation) error {
	if len(exps) == 0 {
		return nil
	}
	first := exps[0]
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
		if e.Assigned {
			fmt.Fprintf(w, "  %-20s %-10s %s (%s)\n", e.App, e.Version, e.Variant, e.VersionFrom)
		} else {
			fmt.Fprintf(w, "  %-20s %-10s %s\n", e.App, "-", e.Summary)
		}
	}
	_, err := fmt.Fprintf(w, "run 'fleetc explain %s APP' for the reasons\n", first.Store)
	return err
}
