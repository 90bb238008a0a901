package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// globals are the persistent flags every command shares.
type globals struct {
	root    string
	format  diag.Format
	workers int
	quiet   bool
	// cacheDir is fleetc's cache root; "" when caching is off.
	cacheDir string
	stdout   io.Writer
	stderr   io.Writer
}

func readGlobals(cmd *cobra.Command) (*globals, error) {
	f := cmd.Flags()
	rootFlag, _ := f.GetString("root")
	formatFlag, _ := f.GetString("format")
	workers, _ := f.GetInt("workers")
	quiet, _ := f.GetBool("quiet")
	cacheFlag, _ := f.GetString("cache-dir")
	format, err := diag.ParseFormat(formatFlag)
	if err != nil {
		return nil, usageError{err}
	}
	if workers < 0 {
		return nil, usagef("--workers must be 0 or more, got %d", workers)
	}
	root, err := findRoot(rootFlag)
	if err != nil {
		return nil, err
	}
	cacheDir, err := cacheRoot(cacheFlag)
	if err != nil {
		return nil, err
	}
	return &globals{
		cacheDir: cacheDir,
		root:     root,
		format:   format,
		workers:  workers,
		quiet:    quiet || format == diag.JSON,
		stdout:   cmd.OutOrStdout(),
		stderr:   cmd.ErrOrStderr(),
	}, nil
}

// findRoot returns flag when set, else the nearest enclosing directory that
// looks like a fleet monorepo, else the current directory.
func findRoot(flag string) (string, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return "", fmt.Errorf("root: %w", err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return "", usagef("--root %s is not a directory", flag)
		}
		return abs, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("root: %w", err)
	}
	for dir := cwd; ; dir = filepath.Dir(dir) {
		for _, marker := range []string{"inventory", "fleet.cue"} {
			if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
				return dir, nil
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return cwd, nil
		}
	}
}

// progress returns a function that prints one line per finished stage to
// stderr, or nil when quiet.
func (g *globals) progress() func(stage string, d time.Duration, detail string) {
	if g.quiet {
		return nil
	}
	return func(stage string, d time.Duration, detail string) {
		fmt.Fprintf(g.stderr, "fleetc: %-8s %6.2fs  %s\n", stage, d.Seconds(), detail)
	}
}

// printDiags prints findings in the chosen format (to stdout for json, so
// the output is one machine-readable document; to stderr for text and github).
func (g *globals) printDiags(l diag.List) error {
	switch g.format {
	case diag.JSON:
		return nil // included in the command's JSON document
	case diag.GitHub:
		return diag.PrintGitHub(g.stdout, l)
	}
	return diag.PrintText(g.stderr, l)
}

// parseNow reads --now: RFC 3339, or empty for the current time.
func parseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--now %q: want RFC 3339, e.g. 2026-11-24T03:00:00Z", s)
	}
	return t.UTC(), nil
}

// cacheRoot resolves --cache-dir: "off" disables the cache, "" means the
// user cache directory (XDG_CACHE_HOME or ~/.cache on Linux) + /fleetc.
// Without a home directory the cache is simply off.
func cacheRoot(flag string) (string, error) {
	switch flag {
	case "off":
		return "", nil
	case "":
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", nil
		}
		return filepath.Join(dir, "fleetc"), nil
	}
	abs, err := filepath.Abs(flag)
	if err != nil {
		return "", fmt.Errorf("--cache-dir: %w", err)
	}
	return abs, nil
}
