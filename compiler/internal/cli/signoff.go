package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitea"
	"github.com/fleetc/fleetc/compiler/internal/forge/github"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitlab"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/signoff"
)

type signoffFlags struct {
	repo, provider, tokenEnv, apiURL, dir, targetURL string
	number                                           int
	autoMerge, insecureHTTP                          bool
	timeout                                          time.Duration
}

func newSignoffCmd() *cobra.Command {
	var f signoffFlags
	cmd := &cobra.Command{
		Use:   "signoff --repo URL --provider github|gitlab|gitea --mr N",
		Short: "Check sign-off on the deploy merge request, post its statuses, merge when green",
		Long: `signoff is the sign-off gate on the deploy merge request. It reads the
decisions of the compile at the merge request's head (.fleetc/decisions.jsonl,
through the forge or from --dir, a checkout of the head), the latest review of
every user, and the fleet's teams (rings/calendar.cue, under --root). A team
has signed off when one of its members approved exactly the head commit:
approvals of an older commit, reviews that are not approvals, and approvals by
users outside the required teams do not count.

It posts two statuses on the head: fleetc/policy (success when the compile ran;
denials and deferrals are informational) and fleetc/signoff (success when every
required team signed off, else failure naming the missing teams). With
--auto-merge it then merges when every fleetc/* status on the head is green,
naming the head commit so that a newer push wins.

The token comes from the environment variable --token-env (default: the
first set of FLEETC_TOKEN and GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN
for the provider). It is never printed and never sent over plain http://
(--repo or --api-url) unless --insecure-http says so, loopback included.
Each forge API request has a limit of 60s and the whole run --timeout.

Exit codes: 0 signed off (and merged, with --auto-merge), 1 sign-off missing
or not merged, 2 usage or forge error.`,
		Example: `  fleetc signoff --provider github --repo https://github.com/acme/deploy --mr 42
  fleetc signoff --provider gitea --repo https://git.example.com/ops/deploy --mr 7 --auto-merge`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			return runSignoff(cmd, g, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "deploy repository URL (https://host/owner/repo)")
	fl.StringVar(&f.provider, "provider", "", "forge: github, gitlab or gitea")
	fl.IntVar(&f.number, "mr", 0, "merge request number")
	fl.BoolVar(&f.autoMerge, "auto-merge", false, "merge when every fleetc status on the head is green")
	fl.StringVar(&f.dir, "dir", "", "checkout of the merge request head to read decisions from (default: read through the forge)")
	fl.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding the forge token")
	fl.StringVar(&f.apiURL, "api-url", "", "forge API base URL (default: derived from --repo)")
	fl.StringVar(&f.targetURL, "target-url", "", "link for the statuses (e.g. the CI run)")
	fl.BoolVar(&f.insecureHTTP, "insecure-http", false, "allow sending the token over plain http:// (trusted networks, loopback test servers)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "limit for the whole sign-off run (every forge API call)")
	return cmd
}

// newForge builds the forge for a provider name.
func newForge(provider, repo, token string, opts ...forgehttp.Option) (forge.Forge, error) {
	switch provider {
	case "github":
		return github.New(repo, token, opts...)
	case "gitlab":
		return gitlab.New(repo, token, opts...)
	case "gitea":
		return gitea.New(repo, token, opts...)
	}
	return nil, usagef("--provider must be github, gitlab or gitea, got %q", provider)
}

func forgeToken(provider, env string) (string, error) {
	names := []string{env}
	if env == "" {
		names = []string{"FLEETC_TOKEN", strings.ToUpper(provider) + "_TOKEN"}
	}
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v, nil
		}
	}
	return "", usagef("no forge token: set %s", strings.Join(names, " or "))
}

func runSignoff(cmd *cobra.Command, g *globals, f *signoffFlags) error {
	switch {
	case f.repo == "":
		return usagef("signoff needs --repo")
	case f.number <= 0:
		return usagef("signoff needs --mr N (a merge request number)")
	}
	switch f.provider {
	case "github", "gitlab", "gitea":
	default:
		return usagef("--provider must be github, gitlab or gitea, got %q", f.provider)
	}
	token, err := forgeToken(f.provider, f.tokenEnv)
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usagef("--timeout must be a positive duration, e.g. 5m")
	}
	var opts []forgehttp.Option
	if f.insecureHTTP {
		opts = append(opts, forgehttp.WithInsecureHTTP())
	}
	if f.apiURL != "" {
		opts = append(opts, forgehttp.WithAPIURL(f.apiURL))
	}
	if !g.quiet {
		opts = append(opts, forgehttp.WithLog(func(format string, args ...any) { fmt.Fprintf(g.stderr, format+"\n", args...) }))
	}
	fg, err := newForge(f.provider, f.repo, token, opts...)
	if err != nil {
		return usageError{err}
	}
	fleet, diags, err := load.Load(cmd.Context(), load.Options{Root: g.root, Workers: g.workers, CacheDir: g.cacheDir})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if diags.HasErrors() {
		if err := g.printDiags(diags); err != nil {
			return err
		}
		return fmt.Errorf("the fleet under %s does not load: cannot map users to teams", g.root)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	res, err := signoff.Run(ctx, signoff.Options{
		Forge: fg, Number: f.number, Teams: fleet.Teams, Dir: f.dir, AutoMerge: f.autoMerge, TargetURL: f.targetURL,
	})
	if err != nil {
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			return fmt.Errorf("signoff: %s did not finish within %s (--timeout): check that the forge is reachable, or raise --timeout: %w", forgehttp.Redact(f.repo), f.timeout, err)
		}
		return err
	}
	if g.format == diag.JSON {
		if err := writeJSON(g.stdout, res); err != nil {
			return err
		}
	} else if err := printSignoff(g.stdout, fg.Name(), res); err != nil {
		return err
	}
	if !res.Green() || f.autoMerge && !res.Merged {
		return errFindings
	}
	return nil
}

func printSignoff(w io.Writer, forgeName string, res *signoff.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s merge request %d at %s", forgeName, res.MR.Number, res.MR.HeadSHA)
	if res.MR.URL != "" {
		fmt.Fprintf(&b, " (%s)", res.MR.URL)
	}
	b.WriteString("\n")
	for _, st := range res.Statuses {
		fmt.Fprintf(&b, "  %-15s %-8s %s\n", st.Context, st.State, st.Description)
	}
	if v := res.Verdict; v != nil {
		for _, t := range v.Required {
			if users := v.Approved[t]; len(users) > 0 {
				fmt.Fprintf(&b, "  signed off   %s by %s\n", t, strings.Join(users, ", "))
			} else {
				fmt.Fprintf(&b, "  missing      %s (%d %s)\n", t, res.Requirements.Teams[t], plural(res.Requirements.Teams[t], "decision", "decisions"))
			}
		}
		for _, ig := range v.Ignored {
			fmt.Fprintf(&b, "  not counted  %s (%s): %s\n", ig.User, ig.State, ig.Reason)
		}
	}
	switch {
	case res.Merged:
		b.WriteString("merged\n")
	case res.NotMerged != "":
		fmt.Fprintf(&b, "not merged: %s\n", res.NotMerged)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
