package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/diag"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the fleet's CUE: schemas, references, rings and selectors",
		Long: `validate loads every fleet file (fleet.cue, inventory/, apps/, rings/), each on
its own against the schemas in schemas/ (or the embedded defaults), then checks
what spans files: duplicate ids, unknown references, app dependency cycles,
every store in exactly one ring, selectors, dependencies each store can meet.

Every problem is reported at once as file:line:col: field.path: message,
relative to the monorepo root. Exit 1 when there is any error. Files are
held to limits before they are evaluated (4 MiB a file, 1 MiB a string or an
app's values, 64 levels of nesting, 50 errors shown per file, 500 in all):
docs/fleet-input.md.`,
		Example: `  fleetc validate
  fleetc validate --root ../monorepo --format github   # annotations on the PR
  fleetc validate --format json | jq '.diagnostics[] | .message'`,
		Args: noArgs("the monorepo is given with --root DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			res, err := compiler.Analyze(cmd.Context(), compiler.Options{Root: g.root, Workers: g.workers, CacheDir: g.cacheDir, Progress: g.progress()})
			if err != nil {
				return err
			}
			if err := g.printDiags(res.Diagnostics); err != nil {
				return err
			}
			switch g.format {
			case diag.JSON:
				doc := struct {
					OK          bool      `json:"ok"`
					Diagnostics diag.List `json:"diagnostics"`
					Counts      *counts   `json:"counts,omitempty"`
				}{!res.Failed(), nonNil(res.Diagnostics), fleetCounts(res)}
				if err := writeJSON(g.stdout, doc); err != nil {
					return err
				}
			case diag.Text:
				if !res.Failed() {
					c := fleetCounts(res)
					fmt.Fprintf(g.stdout, "ok: %d stores, %d groups, %d apps, %d rings, %d assignments\n", c.Stores, c.Groups, c.Apps, c.Rings, c.Assignments)
				} else {
					fmt.Fprintln(g.stderr, plural(res.Diagnostics.Errors(), "error", "errors"))
				}
			}
			if res.Failed() {
				return errFindings
			}
			return nil
		},
	}
}

type counts struct {
	Stores      int `json:"stores"`
	Groups      int `json:"groups"`
	Apps        int `json:"apps"`
	Rings       int `json:"rings"`
	Assignments int `json:"assignments"`
	Variants    int `json:"variants"`
}

func fleetCounts(res *compiler.Result) *counts {
	if res.Fleet == nil || res.Targets == nil {
		return nil
	}
	c := &counts{Stores: len(res.Fleet.Stores), Groups: len(res.Fleet.Groups), Apps: len(res.Fleet.Apps), Rings: len(res.Fleet.Rings), Variants: len(res.Targets.Variants)}
	for _, s := range res.Targets.Stores {
		c.Assignments += len(s.Apps)
	}
	return c
}

func nonNil(l diag.List) diag.List {
	if l == nil {
		return diag.List{}
	}
	return l
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
