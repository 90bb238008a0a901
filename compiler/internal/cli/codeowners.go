package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/codeowners"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/load"
)

func newCodeownersCmd() *cobra.Command {
	var (
		check bool
		out   string
	)
	cmd := &cobra.Command{
		Use:   "codeowners [--check] [--out FILE]",
		Short: "Write .github/CODEOWNERS from the teams' owns paths in CUE",
		Long: `codeowners renders the monorepo's CODEOWNERS file from the teams declared in
CUE: every path in teams.<name>.owns becomes a line naming the team's
members (@user; a member written org/team is a forge team, an e-mail
address stays as it is). Lines are sorted by path, so a directory comes
before the files in it and, as the last matching line wins, the most
specific path's team owns a file. The output is deterministic and starts
with a do-not-edit header.

--out defaults to .github/CODEOWNERS under the monorepo root; "-" writes to
stdout. With --check nothing is written: exit 1 with the differing lines
when the file is missing or stale (CI runs this on every pull request).`,
		Example: `  fleetc codeowners
  fleetc codeowners --check
  fleetc codeowners --check --format github
  fleetc codeowners --out -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			if check && out == "-" {
				return usagef("--check compares a file; it cannot be used with --out -")
			}
			return runCodeowners(cmd, g, check, out)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "do not write; exit 1 when the file is missing or differs from what would be generated")
	cmd.Flags().StringVar(&out, "out", "", "file to write or check (default: .github/CODEOWNERS under the root; - for stdout)")
	return cmd
}

func runCodeowners(cmd *cobra.Command, g *globals, check bool, out string) error {
	fleet, diags, err := load.Load(cmd.Context(), load.Options{Root: g.root, Workers: g.workers, CacheDir: g.cacheDir})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		// Teams from a fleet that does not load are not trustworthy.
		return codeownersDone(g, diags, codeownersDoc{})
	}
	content, rules, cdiags := codeowners.Generate(fleet, g.root)
	diags.Merge(cdiags)
	diags.Sort()
	if diags.HasErrors() {
		return codeownersDone(g, diags, codeownersDoc{})
	}
	if out == "-" {
		if err := g.printDiags(diags); err != nil {
			return err
		}
		_, err := g.stdout.Write(content)
		return err
	}
	file := out
	if file == "" {
		file = filepath.Join(g.root, filepath.FromSlash(codeowners.DefaultPath))
	}
	rel := codeownersRel(g.root, file)
	doc := codeownersDoc{File: rel, Rules: len(rules)}
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("codeowners: %w", err)
	}
	first, lines := codeowners.Diff(old, content)
	doc.Stale = first != 0
	doc.Diff = lines
	if check {
		if doc.Stale {
			what := "is stale"
			if old == nil {
				what = "is missing"
			}
			diags.Add(diag.Diagnostic{Pos: diag.Pos{File: rel, Line: first}, Severity: diag.Error, Code: "codeowners-stale",
				Message: fmt.Sprintf("%s %s: run `fleetc codeowners` and commit the result (%d differing lines)", rel, what, len(lines))})
		}
		return codeownersDone(g, diags, doc)
	}
	if doc.Stale {
		if err := writeCodeowners(file, content); err != nil {
			return fmt.Errorf("codeowners: %w", err)
		}
		doc.Written = true
	}
	return codeownersDone(g, diags, doc)
}

// codeownersDoc is the JSON result and what the text output reports.
type codeownersDoc struct {
	OK          bool      `json:"ok"`
	File        string    `json:"file,omitempty"`
	Rules       int       `json:"rules"`
	Stale       bool      `json:"stale"`
	Written     bool      `json:"written"`
	Diff        []string  `json:"diff,omitempty"`
	Diagnostics diag.List `json:"diagnostics"`
}

func codeownersDone(g *globals, diags diag.List, doc codeownersDoc) error {
	failed := diags.HasErrors()
	doc.OK = !failed
	doc.Diagnostics = nonNil(diags)
	if err := g.printDiags(diags); err != nil {
		return err
	}
	switch g.format {
	case diag.JSON:
		if err := writeJSON(g.stdout, doc); err != nil {
			return err
		}
	default:
		if doc.File == "" {
			break
		}
		if failed && len(doc.Diff) > 0 {
			fmt.Fprintf(g.stderr, "--- %s (checked in)\n+++ %s (generated)\n%s\n", doc.File, doc.File, strings.Join(doc.Diff, "\n"))
		}
		switch {
		case failed:
		case doc.Written:
			fmt.Fprintf(g.stdout, "wrote %s: %d paths\n", doc.File, doc.Rules)
		default:
			fmt.Fprintf(g.stdout, "ok: %s is up to date (%d paths)\n", doc.File, doc.Rules)
		}
	}
	if failed {
		return errFindings
	}
	return nil
}

// codeownersRel names file relative to the monorepo root with forward slashes
// when it is inside it, else as given.
func codeownersRel(root, file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}

// writeCodeowners writes through a temporary file in the same directory
// and renames it into place, creating the directory.
func writeCodeowners(file string, content []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
