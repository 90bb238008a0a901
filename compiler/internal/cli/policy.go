package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with the Rego policies in policies/",
		Long: `Policies in policies/ gate every change a store would receive. See
docs/policies.md for the input document and the rule conventions.`,
	}
	cmd.AddCommand(newPolicyTestCmd())
	return cmd
}

func newPolicyTestCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the Rego unit tests (*_test.rego) in policies/",
		Long: `test runs every test_* rule in policies/**/*_test.rego with OPA's test runner,
under the same sandbox the compiler uses (no network, environment or
non-deterministic builtins). Failures are reported with their Rego position.
Exit 1 when any test fails or errors.`,
		Example: `  fleetc policy test
  fleetc policy test --run bipa
  fleetc policy test --format github`,
		Args: noArgs("pick tests with --run REGEX"),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			rep, diags, err := policy.RunTests(cmd.Context(), g.root, run)
			if err != nil {
				return err
			}
			if rep != nil {
				for _, r := range rep.Results {
					switch r.Outcome {
					case "fail", "error":
						diags.Add(diag.Diagnostic{Pos: r.Pos, Path: r.Package + "." + r.Name, Severity: diag.Error, Code: "policy-test", Message: testMessage(r)})
					}
				}
			}
			diags.Sort()
			if err := g.printDiags(diags); err != nil {
				return err
			}
			failed := diags.HasErrors()
			switch g.format {
			case diag.JSON:
				if err := writeJSON(g.stdout, struct {
					OK          bool               `json:"ok"`
					Report      *policy.TestReport `json:"report,omitempty"`
					Diagnostics diag.List          `json:"diagnostics"`
				}{!failed, rep, nonNil(diags)}); err != nil {
					return err
				}
			case diag.Text:
				if rep != nil {
					where := "policies/"
					if rep.Embedded {
						where = "embedded default policies"
					}
					fmt.Fprintf(g.stdout, "%s: %d passed, %d failed, %d errors, %d skipped\n", where, rep.Passed, rep.Failed, rep.Errored, rep.Skipped)
				}
			}
			if failed {
				return errFindings
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only tests whose name matches this regular expression")
	return cmd
}

func testMessage(r policy.TestResult) string {
	if r.Msg != "" {
		return fmt.Sprintf("test %s: %s", r.Outcome, r.Msg)
	}
	return "test " + r.Outcome + "ed"
}
