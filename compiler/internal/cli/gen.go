package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/diag"
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
		Args: noArgs("the output directory is given with --out DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("gen: --out is required")
			}
			if opts.Stores < 1 || opts.Apps < 1 {
				return usagef("gen: --stores and --apps must be at least 1")
			}
			formatFlag, _ := cmd.Flags().GetString("format")
			format, err := diag.ParseFormat(formatFlag)
			if err != nil {
				return usageError{err}
			}
			stats, err := gen.Generate(out, opts)
			if err != nil {
				return err // already says "gen: "
			}
			if format == diag.JSON {
				return writeJSON(cmd.OutOrStdout(), genSummary(out, stats))
			}
			return printGenStats(cmd.OutOrStdout(), out, stats)
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

// genJSON is gen's --format json document.
type genJSON struct {
	Out    string     `json:"out"`
	Stores int        `json:"stores"`
	Groups int        `json:"groups"`
	Apps   int        `json:"apps"`
	Rings  []ringJSON `json:"rings"`
	Files  int        `json:"files"`
	Bytes  int64      `json:"bytes"`
}

type ringJSON struct {
	Name   string `json:"name"`
	Stores int    `json:"stores"`
}

func genSummary(out string, st gen.Stats) genJSON {
	doc := genJSON{Out: out, Stores: st.Stores, Groups: st.Groups, Apps: st.Apps, Files: st.Files, Bytes: st.Bytes, Rings: []ringJSON{}}
	for _, r := range st.RingSizes {
		doc.Rings = append(doc.Rings, ringJSON{Name: r.Name, Stores: r.Stores})
	}
	return doc
}

// printGenStats writes, e.g.:
//
//	wrote /tmp/fleet: 2000 stores, 30 groups, 20 apps, 5 rings; 41 files, 1.2 MB
//	  rings: lab 10, canary 100, early 300, main 1590
func printGenStats(w io.Writer, out string, st gen.Stats) error {
	fmt.Fprintf(w, "wrote %s: %s, %s, %s, %s; %s, %s\n", out,
		plural(st.Stores, "store", "stores"), plural(st.Groups, "group", "groups"), plural(st.Apps, "app", "apps"),
		plural(len(st.RingSizes), "ring", "rings"), plural(st.Files, "file", "files"), byteSize(st.Bytes))
	if len(st.RingSizes) == 0 {
		return nil
	}
	parts := make([]string, len(st.RingSizes))
	for i, r := range st.RingSizes {
		parts[i] = fmt.Sprintf("%s %d", r.Name, r.Stores)
	}
	_, err := fmt.Fprintf(w, "  rings (stores): %s\n", strings.Join(parts, ", "))
	return err
}

// byteSize is a size for people: 512 B, 3.4 kB, 1.2 MB (powers of 1000).
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
