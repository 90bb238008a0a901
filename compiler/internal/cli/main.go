package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/internal/buildinfo"
)

// Exit codes every command shares.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// errFindings is returned by a command that printed its findings and wants
// exit code 1; Main prints nothing more.
var errFindings = errors.New("findings")

// usageError marks a bad invocation (exit 2 with a hint).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs fleetc with os.Args and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs fleetc with args, writing to stdout and stderr, and returns the
// exit code. Tests call it in-process.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	defer startProfiles(stderr)()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := unknownCommand(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFindings):
		return ExitFindings
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "fleetc: %v\nRun 'fleetc --help' for usage.\n", err)
		return ExitError
	default:
		fmt.Fprintf(stderr, "fleetc: %v\n", err)
		return ExitError
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fleetc",
		Short: "Compile a store fleet's CUE and Rego into per-store Flux manifests",
		Long: `fleetc is a declarative, policy-driven GitOps compiler for fleets of small
edge Kubernetes clusters. It loads the fleet from CUE (schemas/, inventory/,
apps/, rings/), decides which app runs on which store at which version with
which values, gates every change through the Rego policies in policies/, and
writes each store's Flux manifests into a deploy tree (clusters/<store>/).

Typical use in CI:
  fleetc validate                       check the monorepo, every error with file:line:col
  fleetc plan --out deploy              what a compile would change in ./deploy
  fleetc compile --out deploy           write the deploy tree
  fleetc explain us-il-chicago-0101 pos why app pos is (not) on that store

Exit codes: 0 ok; 1 findings: invalid input, failing policy tests, or
verdicts named by compile/plan --fail-on (e.g. --fail-on deny,defer);
2 usage or internal error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().String("root", "", "monorepo root (default: the nearest enclosing directory that has inventory/ or fleet.cue, else the current directory)")
	root.PersistentFlags().String("format", "text", "output format: text, json or github (GitHub Actions annotations)")
	root.PersistentFlags().Int("workers", 0, "parallel workers (default: number of CPUs)")
	root.PersistentFlags().BoolP("quiet", "q", false, "no progress on stderr")
	root.PersistentFlags().String("cache-dir", "", "fleetc's cache: evaluated CUE per file content hash, deploy repo clones (default: <user cache dir>/fleetc; \"off\" disables)")
	root.AddCommand(
		newValidateCmd(),
		newCompileCmd(),
		newPlanCmd(),
		newExplainCmd(),
		newPolicyCmd(),
		newGenCmd(),
		newPublishCmd(),
		newVersionCmd(),
		newSignoffCmd(),
		newCodeownersCmd(),
		newFeedbackCmd(),
	)
	usageArgs(root)
	return root
}

// unknownCommand returns a usage error, with the commands the user may have
// meant, when args name a command that does not exist: a positional
// argument given to a command group (fleetc itself, fleetc policy). cobra
// reports that case with an untyped error at the root and not at all below
// it (fleetc policy tset printed help and exit 0); deciding it here keeps Run
// from matching error strings.
func unknownCommand(root *cobra.Command, args []string) error {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	c, rest, _ := root.Find(args)
	if c == nil || c.Runnable() || !c.HasSubCommands() {
		return nil
	}
	name := firstPositional(c, rest)
	if name == "" {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra sets it at the root only
	}
	if suggestions := c.SuggestionsFor(name); len(suggestions) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(suggestions, "\n\t")
	}
	return usageError{errors.New(msg)}
}

// firstPositional is the first argument that is neither a flag nor the
// value of a flag that takes one.
func firstPositional(c *cobra.Command, args []string) string {
	flags := c.Flags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case strings.HasPrefix(a, "--"):
			if !strings.Contains(a, "=") {
				if f := flags.Lookup(a[2:]); f != nil && f.NoOptDefVal == "" {
					i++
				}
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if len(a) == 2 {
				if f := flags.ShorthandLookup(a[1:]); f != nil && f.NoOptDefVal == "" {
					i++
				}
			}
		default:
			return a
		}
	}
	return ""
}

// usageArgs makes every command's argument-count errors usage errors, so
// they exit 2 with the hint, like flag errors.
func usageArgs(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return err
				}
				return usageError{fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// noArgs rejects arguments, saying which flag the user may have meant.
func noArgs(hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		if hint == "" {
			return usagef("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
		}
		return usagef("%s takes no arguments, got %q; %s", cmd.CommandPath(), strings.Join(args, " "), hint)
	}
}

// version is the module version when built from a tagged module, else "devel".
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return buildinfo.Version(bi)
}
