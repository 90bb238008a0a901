package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/gate"
)

// Options are the inputs of one publish.
type Options struct {
	Dir      string // the deploy tree (fleetc compile --out); DIR/.git is skipped
	RepoURL  string // the deploy repository: https://, ssh:// or a local path
	Base     string // branch the merge request targets; default main
	Branch   string // rollout branch; default fleetc/rollout
	Provider string // github, gitlab, gitea or git (push only); "" = InferProvider
	// CacheDir is the bare clone reused between runs; default
	// DefaultCacheDir(RepoURL).
	CacheDir string
	Author   Signature // author and committer; default DefaultSignature
	Date     time.Time // commit time; zero = now. Same tree, parent and date give the same commit.
	Message  string    // commit message; "" = Report.CommitMessage
	// Getenv reads tokens (FLEETC_TOKEN, GITHUB_TOKEN, …) and
	// FLEETC_GIT_USER; nil = os.Getenv.
	Getenv func(string) string
	// Forge, when set, is used instead of the provider's (tests, embedding).
	Forge forge.Forge
	// Attempts is how often a push is tried when another run moved the
	// branch in between; default 5. RetryDelay is the first wait, doubled
	// after each rejection; default 500ms.
	Attempts   int
	RetryDelay time.Duration
	// Progress, when set, is called as each step finishes.
	Progress func(stage string, took time.Duration, detail string)

	// InsecureHTTP allows sending a credential (the token, a password in
	// RepoURL) over plain http://; without it publish refuses
	// (ErrInsecureHTTP). Loopback servers need it too.
	InsecureHTTP bool
	// Timeout bounds the whole publish (fetch, push, merge request);
	// default DefaultTimeout. StallTimeout fails a git HTTP transfer that
	// receives nothing for that long, and bounds each forge API request;
	// default DefaultStallTimeout. Both fail with a *TimeoutError.
	Timeout      time.Duration
	StallTimeout time.Duration

	beforePush func(attempt int) // test hook: runs just before each push
}

// Result is what a publish did.
type Result struct {
	Commit   string    `json:"commit"` // the branch head after the publish ("" when nothing was published)
	Parent   string    `json:"parent,omitempty"`
	Tree     string    `json:"tree"`
	Pushed   bool      `json:"pushed"`
	Branch   string    `json:"branch"`
	Base     string    `json:"base"`
	Attempts int       `json:"attempts"` // pushes tried
	Subject  string    `json:"subject"`
	MR       *MRResult `json:"mr,omitempty"`
	Skipped  string    `json:"skipped,omitempty"` // why there is no new commit or no merge request step
	Body     string    `json:"-"`
}

// MRResult is the merge request a publish opened or refreshed.
type MRResult struct {
	Number  int    `json:"number"`
	URL     string `json:"url"`
	Created bool   `json:"created"`
}

// The default network limits of a publish (Options.Timeout, StallTimeout).
const (
	DefaultTimeout      = 10 * time.Minute
	DefaultStallTimeout = time.Minute
)

// ErrNotDeployTree is a --dir without .fleetc/state.json: publishing it
// would replace the deploy repository with something fleetc did not write.
var ErrNotDeployTree = errors.New("not a deploy tree (no .fleetc/state.json); run fleetc compile --out DIR first")

func (o *Options) defaults() error {
	if o.Dir == "" || o.RepoURL == "" {
		return errors.New("publish needs a deploy tree and a repository URL")
	}
	o.Base = cmpOr(o.Base, "main")
	o.Branch = cmpOr(o.Branch, "fleetc/rollout")
	if o.Base == o.Branch {
		return fmt.Errorf("branch %q is the base branch: publish proposes changes on a branch of their own", o.Branch)
	}
	o.Provider = cmpOr(o.Provider, InferProvider(o.RepoURL))
	if !slices.Contains(Providers, o.Provider) {
		return fmt.Errorf("provider %q: want one of %s", o.Provider, strings.Join(Providers, ", "))
	}
	if o.Author == (Signature{}) {
		o.Author = DefaultSignature
	}
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.CacheDir == "" {
		dir, err := DefaultCacheDir(o.RepoURL)
		if err != nil {
			return err
		}
		o.CacheDir = dir
	}
	if !strings.Contains(o.RepoURL, "://") {
		if st, err := os.Stat(o.RepoURL); err == nil && st.IsDir() { // a local path
			if abs, err := filepath.Abs(o.RepoURL); err == nil {
				o.RepoURL = abs
			}
		}
	}
	abs, err := filepath.Abs(o.CacheDir) // git runs in Dir
	if err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	o.CacheDir = abs
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Publish commits the deploy tree on top of the rollout branch (or the
// base branch when the rollout branch is absent or already merged), pushes
// it with a lease and opens or refreshes the merge request. When the tree
// equals the branch head's, nothing is committed or pushed and the merge
// request's title and body are refreshed.
//
// A write to Dir that a crash interrupted is finished or undone first
// (deploy.Recover), and only what fleetc renders is committed: never
// deploy's bookkeeping (deploy.BookkeepingPaths). No error, progress line
// or merge request text shows a credential.
func Publish(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := deploy.Recover(opts.Dir); err != nil {
		return nil, fmt.Errorf("%s: finish the interrupted write first (rerun fleetc compile --out %s): %w", opts.Dir, opts.Dir, err)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, filepath.FromSlash(deploy.StatePath))); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Dir, ErrNotDeployTree)
	}
	p := &publisher{opts: opts, res: &Result{Branch: opts.Branch, Base: opts.Base}}
	ctx, cancel := context.WithTimeoutCause(ctx, opts.Timeout, &TimeoutError{
		What: "publish", Host: hostOf(opts.RepoURL), Limit: opts.Timeout, Flag: "--timeout"})
	defer cancel()
	res, err := p.run(ctx)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
		return res, redacted(err, p.secrets...)
	}
	return res, nil
}

func (p *publisher) run(ctx context.Context) (*Result, error) {
	if err := p.prepare(ctx); err != nil {
		return nil, err
	}
	if err := p.commitAndPush(ctx); err != nil {
		return nil, err
	}
	err := p.mergeRequest(ctx)
	p.git.maintain(ctx)
	if err != nil {
		return p.res, err
	}
	return p.res, nil
}

// hostOf is the host[:port] of a repository URL for messages, without user
// info; a local path as it is.
func hostOf(repoURL string) string {
	r, _ := newRemote(repoURL, "", "", true)
	return r.host
}

type publisher struct {
	opts      Options
	res       *Result
	forge     forge.Forge
	token     string
	secrets   []string // every form of every credential: redacted from all output
	git       *gitCLI
	next      *deploy.State
	decisions []gate.Decision
	heads     map[string]string

	report     *Report
	reportBase string // base head the report was made against
}

func (p *publisher) step(stage string, start time.Time, format string, args ...any) {
	if p.opts.Progress != nil {
		p.opts.Progress(stage, time.Since(start), redact(fmt.Sprintf(format, args...), p.secrets...))
	}
}

// prepare resolves the forge, opens the cache, fetches both branches and
// hashes the tree.
func (p *publisher) prepare(ctx context.Context) error {
	o := &p.opts
	p.token = tokenFor(o.Provider, o.Getenv)
	// Before anything reaches the network: the credential stays off git's
	// command line and off plain http.
	r, err := newRemote(o.RepoURL, gitUser(o.Provider, o.Getenv), p.token, o.InsecureHTTP)
	p.secrets = r.secrets
	if err != nil {
		return err
	}
	p.forge = o.Forge
	if p.forge == nil {
		fopts := []forgehttp.Option{forgehttp.WithTimeout(o.StallTimeout)}
		if o.InsecureHTTP {
			fopts = append(fopts, forgehttp.WithInsecureHTTP())
		}
		f, err := forgeFor(o.Provider, r.url, o.Getenv, fopts...)
		if err != nil {
			return err
		}
		p.forge = f
	}
	g, err := openCache(ctx, o.CacheDir, r, o.StallTimeout)
	if err != nil {
		return err
	}
	p.git = g
	if err := p.fetch(ctx); err != nil {
		return err
	}

	// Hashing the tree (git, another process) and reading the states and
	// decisions for the report (here) overlap.
	start := time.Now()
	var tree string
	var seeded bool
	var treeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		tree, seeded, treeErr = g.writeTree(ctx, o.Dir)
	}()
	err = p.readInputs()
	<-done
	if treeErr != nil {
		return fmt.Errorf("hash %s: %w", o.Dir, treeErr)
	}
	if err != nil {
		return err
	}
	p.res.Tree = tree
	how := ""
	if seeded {
		how = ", unchanged files known from the checkout's index"
	}
	p.step("tree", start, "tree %s of %s (%d stores%s)", short(tree), o.Dir, len(p.next.Stores), how)
	return nil
}

// readInputs reads the tree's state and decisions and makes the report
// against the fetched base.
func (p *publisher) readInputs() error {
	var err error
	if p.next, err = deploy.ReadState(p.opts.Dir); err != nil {
		return err
	}
	if p.decisions, err = ReadDecisions(p.opts.Dir); err != nil {
		return err
	}
	objs, err := openObjects(p.git.gitDir)
	if err != nil {
		return err
	}
	return p.makeReport(objs, p.heads[p.opts.Base])
}

// fetch asks the remote for base and branch and fetches what is new.
func (p *publisher) fetch(ctx context.Context) error {
	start := time.Now()
	heads, err := p.git.remoteHeads(ctx, p.opts.Base, p.opts.Branch)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", p.git.url, err)
	}
	p.heads = heads
	tr, err := p.git.fetch(ctx, heads, p.opts.Base, p.opts.Branch)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", p.git.url, err)
	}
	p.step("fetch", start, "%s %s, %s %s; received %d objects%s",
		p.opts.Base, headText(heads[p.opts.Base]), p.opts.Branch, headText(heads[p.opts.Branch]), tr.Objects, bytesText(tr.Bytes))
	return nil
}

func headText(sha string) string {
	if sha == "" {
		return "(absent)"
	}
	return "at " + short(sha)
}

func bytesText(b string) string {
	if b == "" {
		return ""
	}
	return ", " + b
}

// commitAndPush commits the tree on its parent and pushes it; a push
// refused because the branch moved refetches and commits the same tree on
// the new head, with backoff.
func (p *publisher) commitAndPush(ctx context.Context) error {
	o := &p.opts
	delay := o.RetryDelay
	for attempt := 1; ; attempt++ {
		objs, err := openObjects(p.git.gitDir)
		if err != nil {
			return err
		}
		baseHead, branchHead := p.heads[o.Base], p.heads[o.Branch]
		parent := branchHead
		if branchHead == "" {
			parent = baseHead
		} else if baseHead != "" && baseHead != branchHead {
			merged, err := p.git.isAncestor(ctx, branchHead, baseHead)
			if err != nil {
				return err
			}
			if merged { // the last rollout was merged: start from base
				parent = baseHead
			}
		}
		if err := p.makeReport(objs, baseHead); err != nil {
			return err
		}
		parentTree, err := objs.tree(parent)
		if err != nil {
			return err
		}
		if parentTree == p.res.Tree {
			p.res.Parent = ""
			if parent == branchHead {
				p.res.Commit = branchHead
				p.res.Skipped = "nothing new: " + o.Branch + " already has this tree"
			} else {
				p.res.Skipped = "nothing to propose: " + o.Base + " already has this tree"
			}
			return nil
		}
		start := time.Now()
		commit, err := p.git.commitTree(ctx, p.res.Tree, parent, p.message(), o.Author, o.Date)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		p.res.Commit, p.res.Parent, p.res.Attempts = commit, parent, attempt
		p.step("commit", start, "%s on %s", short(commit), cmpOr(short(parent), "nothing (root commit)"))

		if o.beforePush != nil {
			o.beforePush(attempt)
		}
		start = time.Now()
		tr, err := p.git.push(ctx, commit, o.Branch, branchHead)
		if err == nil {
			p.res.Pushed = true
			p.step("push", start, "%s to %s: %d objects%s (attempt %d)", short(commit), o.Branch, tr.Objects, bytesText(tr.Bytes), attempt)
			return nil
		}
		if !errors.Is(err, errRejected) || attempt >= o.Attempts {
			return fmt.Errorf("push %s after %d attempts: %w", o.Branch, attempt, err)
		}
		p.step("push", start, "%s moved on the remote; fetching it and committing on top (attempt %d of %d, next in %s)", o.Branch, attempt, o.Attempts, delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
		if err := p.fetch(ctx); err != nil {
			return err
		}
	}
}

// makeReport diffs the base branch's state against the tree's, once per
// base head.
func (p *publisher) makeReport(objs *objects, baseHead string) error {
	if p.report != nil && p.reportBase == baseHead {
		return nil
	}
	start := time.Now()
	base, err := objs.state(baseHead)
	if err != nil {
		return err
	}
	p.report = NewReport(base, p.next, p.decisions, StoreZone(p.opts.Dir, p.decisions))
	p.reportBase = baseHead
	p.res.Subject = p.report.Subject()
	if p.opts.Message != "" {
		p.res.Subject, _, _ = strings.Cut(strings.TrimSpace(p.opts.Message), "\n")
	}
	p.res.Subject = redact(p.res.Subject, p.secrets...)
	p.res.Body = redact(p.report.Body(), p.secrets...)
	p.step("report", start, "%s", p.res.Subject)
	return nil
}

func (p *publisher) message() string {
	if p.opts.Message != "" {
		return redact(strings.TrimSpace(p.opts.Message)+"\n", p.secrets...)
	}
	return redact(p.report.CommitMessage(), p.secrets...)
}

// mergeRequest opens or refreshes the merge request, or says why not.
func (p *publisher) mergeRequest(ctx context.Context) error {
	o := &p.opts
	switch {
	case p.forge == nil:
		p.res.Skipped = joinReasons(p.res.Skipped, "provider git: pushed only, no merge request step (use --provider github, gitlab or gitea to open one)")
		return nil
	case p.res.Commit == "":
		return nil // nothing on the branch to propose
	case p.heads[o.Base] == "":
		p.res.Skipped = joinReasons(p.res.Skipped, "no merge request: base branch "+o.Base+" does not exist on the remote")
		return nil
	}
	start := time.Now()
	info, err := p.forge.EnsureMR(ctx, forge.MR{Base: o.Base, Head: o.Branch, Title: p.res.Subject, Body: p.res.Body})
	if err != nil {
		if !errors.Is(err, context.Canceled) && (errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err)) && context.Cause(ctx) == nil {
			err = fmt.Errorf("%w (%w)", &TimeoutError{What: "merge request API", Host: hostOf(o.RepoURL), Limit: o.StallTimeout, Flag: "--stall-timeout"}, err)
		}
		return fmt.Errorf("merge request %s → %s: %w", o.Branch, o.Base, redacted(err, p.secrets...))
	}
	p.res.MR = &MRResult{Number: info.Number, URL: info.URL, Created: info.Created}
	verb := "updated"
	if info.Created {
		verb = "opened"
	}
	p.step("mr", start, "%s #%d %s", verb, info.Number, info.URL)
	return nil
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
