package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/publish"
)

type publishFlags struct {
	dir, repo, base, branch, provider string
	messageFile, cacheDir             string
	author, date                      string
	attempts                          int
	insecureHTTP                      bool
	timeout, stallTimeout             time.Duration
}

func newPublishCmd() *cobra.Command {
	var f publishFlags
	cmd := &cobra.Command{
		Use:   "publish --dir DIR --repo URL",
		Short: "Commit the deploy tree to the rollout branch and open or update its merge request",
		Long: `publish commits the deploy tree in --dir (written by fleetc compile) on top of
the rollout branch of the deploy repository, pushes it, and opens or updates
the merge request into --base whose body summarises the change: per app,
version and ring; deferred stores and when their windows open; denials with
their rules; the sign-offs still needed; the share of the fleet touched.

Nothing new (the branch already has this tree): no commit, no push; the merge
request's title and body are refreshed. When another CI run pushed in
between, publish fetches its commit and commits the same tree on top of it
(never a force-push over unseen work), retrying with backoff.

Only what fleetc renders is committed: a write to --dir that a crash
interrupted is finished or undone first, and fleetc's bookkeeping
(.fleetc/index, .fleetc/journal/) is never part of the commit.

A bare clone is kept under --cache-dir (or --clone-dir) so repeated publishes fetch and push only
what is new. --provider git pushes without a merge request.

Credentials: the token comes from the environment (FLEETC_TOKEN, else
GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN); a password in an https:// --repo
URL is used for git instead. Either reaches git through its environment as
an HTTP header for that host only, never on a command line, and is never
printed, also with GIT_TRACE and friends set (publish clears them for git).
A credential is never sent over plain http:// unless --insecure-http says so
(loopback included). Network: the whole publish has --timeout, and a git
transfer that receives nothing for --stall-timeout (also the limit of each
forge API request) fails naming the host.`,
		Example: `  fleetc publish --dir deploy --repo https://github.com/acme/fleet-deploy.git
  fleetc publish --dir deploy --repo https://gitlab.example.com/ops/deploy.git --provider gitlab --format json
  fleetc publish --dir deploy --repo /srv/git/deploy.git --provider git --date 2026-11-24T09:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "the deploy tree to publish (fleetc compile --out DIR) (required)")
	fl.StringVar(&f.repo, "repo", "", "the deploy repository URL (https://, ssh:// or a path) (required)")
	fl.StringVar(&f.base, "base", "main", "the branch the merge request targets")
	fl.StringVar(&f.branch, "branch", "fleetc/rollout", "the rollout branch publish commits to")
	fl.StringVar(&f.provider, "provider", "", "github, gitlab, gitea or git (push only) (default: from the URL's host, else git)")
	fl.StringVar(&f.messageFile, "message-file", "", "commit message file (default: a summary of the change)")
	fl.StringVar(&f.cacheDir, "clone-dir", "", "bare clone of the deploy repo reused between runs (default: <--cache-dir>/repos/<hash of URL>)")
	fl.StringVar(&f.author, "author", "", `commit author and committer "Name <email>" (default: $FLEETC_AUTHOR, else "fleetc <fleetc@localhost>")`)
	fl.StringVar(&f.date, "date", "", "commit time, RFC 3339 (default: now); pass the compile's --now so reruns give the same commit")
	fl.IntVar(&f.attempts, "attempts", 5, "push attempts when another run moved the branch in between")
	fl.BoolVar(&f.insecureHTTP, "insecure-http", false, "allow sending the token or URL password over plain http:// (trusted networks, loopback test servers)")
	fl.DurationVar(&f.timeout, "timeout", publish.DefaultTimeout, "limit for the whole publish: fetch, push and merge request")
	fl.DurationVar(&f.stallTimeout, "stall-timeout", publish.DefaultStallTimeout, "fail a git HTTP transfer that receives nothing this long; also the limit of each forge API request")
	return cmd
}

func (f *publishFlags) options(g *globals) (publish.Options, error) {
	if f.dir == "" || f.repo == "" {
		return publish.Options{}, usagef("--dir DIR and --repo URL are required")
	}
	if f.timeout <= 0 || f.stallTimeout <= 0 {
		return publish.Options{}, usagef("--timeout and --stall-timeout must be positive durations, e.g. 10m or 30s")
	}
	opts := publish.Options{
		Dir: f.dir, RepoURL: f.repo, Base: f.base, Branch: f.branch, Provider: f.provider,
		CacheDir: f.cloneDir(g), Attempts: f.attempts, Getenv: os.Getenv, Progress: g.progress(),
		InsecureHTTP: f.insecureHTTP, Timeout: f.timeout, StallTimeout: f.stallTimeout,
	}
	author := f.author
	if author == "" {
		author = os.Getenv("FLEETC_AUTHOR")
	}
	if author != "" {
		sig, err := publish.ParseSignature(author)
		if err != nil {
			return opts, usageError{err}
		}
		opts.Author = sig
	}
	if f.date != "" {
		t, err := time.Parse(time.RFC3339, f.date)
		if err != nil {
			return opts, usagef("--date %q: want RFC 3339, e.g. 2026-11-24T09:00:00Z", f.date)
		}
		opts.Date = t
	}
	if f.messageFile != "" {
		b, err := os.ReadFile(f.messageFile)
		if err != nil {
			return opts, fmt.Errorf("message file: %w", err)
		}
		opts.Message = string(b)
	}
	return opts, nil
}

func runPublish(cmd *cobra.Command, f *publishFlags) error {
	g, err := readGlobals(cmd)
	if err != nil {
		return err
	}
	opts, err := f.options(g)
	if err != nil {
		return err
	}
	res, err := publish.Publish(cmd.Context(), opts)
	if err != nil {
		return err
	}
	if g.format == diag.JSON {
		return writeJSON(g.stdout, res)
	}
	switch {
	case res.Pushed:
		fmt.Fprintf(g.stdout, "pushed %s to %s: %s\n", res.Commit, res.Branch, res.Subject)
	case res.Commit != "":
		fmt.Fprintf(g.stdout, "%s is at %s: nothing new to push\n", res.Branch, res.Commit)
	default:
		fmt.Fprintf(g.stdout, "nothing published: %s\n", res.Skipped)
	}
	if res.MR != nil {
		verb := "updated"
		if res.MR.Created {
			verb = "opened"
		}
		fmt.Fprintf(g.stdout, "merge request #%d %s: %s\n", res.MR.Number, verb, res.MR.URL)
	} else if res.Skipped != "" && res.Commit != "" {
		fmt.Fprintf(g.stdout, "skipped: %s\n", res.Skipped)
	}
	return nil
}

// cloneDir is --clone-dir, else the clone under fleetc's cache root, else
// (cache off) publish's own default.
func (f *publishFlags) cloneDir(g *globals) string {
	if f.cacheDir != "" || g.cacheDir == "" {
		return f.cacheDir
	}
	return publish.CloneDir(g.cacheDir, f.repo)
}
