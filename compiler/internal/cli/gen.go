package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/gen"
)

func newGenCmd() *cobra.Command {
	var opts gen.Options
	var out string
	cmd := &cobra.Command{
		Use:   "gen --out DIR",
		Short: "Write a synthetic fleet monorepo of any size (tests, benchmarks)",
		Long: `gen writes a complete, valid monorepo — schemas/, fleet.cue, inventory/,
apps/, rings/ and policies/ — with the requested number of stores and apps,
jagged overlapping groups, rings that cover every store once, a freeze and
teams. The same --seed gives byte-identical output.`,
		Example: `  fleetc gen --stores 60000 --apps 20 --out /tmp/fleet60k
  fleetc --root /tmp/fleet60k compile --out /tmp/deploy60k`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("gen: --out is required")
			}
			if opts.Stores < 1 || opts.Apps < 1 {
				return usagef("gen: --stores and --apps must be at least 1")
			}
			stats, err := gen.Generate(out, opts)
			if err != nil {
				return fmt.Errorf("gen: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %+v\n", out, stats)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to write the monorepo into (created)")
	f.IntVar(&opts.Stores, "stores", 2000, "number of stores")
	f.IntVar(&opts.Apps, "apps", 20, "number of apps")
	f.IntVar(&opts.Rings, "rings", 5, "number of rings")
	f.IntVar(&opts.Groups, "groups", 30, "number of groups")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed")
	return cmd
}
