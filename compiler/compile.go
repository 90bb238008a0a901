package compiler

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/guard"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/render"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Options are the explicit inputs of one compile.
type Options struct {
	Root    string    // monorepo root
	Out     string    // deploy tree; its .fleetc/state.json is the previous state
	Now     time.Time // the compile's clock (policies see it as time.now_ns)
	Workers int       // 0 = GOMAXPROCS
	DryRun  bool      // plan: compute everything, write nothing
	// ApprovalsFile names who approved the merge request (JSON); empty = none.
	ApprovalsFile string
	// Commit is the commit of Root being compiled, a full commit id:
	// only approvals given on it count. Required with ApprovalsFile.
	Commit string
	// CacheDir is fleetc's cache root (evaluated CUE by content hash);
	// "" disables caching. Caches make compiles faster, never different.
	CacheDir string
	// ProposeSignoff renders changes that need sign-off instead of holding
	// them, for a deploy merge request whose merge the sign-off gate holds.
	ProposeSignoff bool
	// FeedbackFile is the feedback snapshot (docs/feedback.md) the rollout
	// stage promotes rings on; empty = none: no ring beyond the first
	// receives a new version.
	FeedbackFile string
	// PolicyBudget bounds the time and memory the policies may take
	// (policy.Budget: zero fields are the defaults, 60 s and 2 GiB); a
	// compile over it fails closed and writes nothing.
	PolicyBudget policy.Budget
	// Progress, when set, is called as each stage finishes.
	Progress func(stage string, took time.Duration, detail string)
	// Verify makes the write read every file in Out back instead of
	// trusting .fleetc/index and the files' stat.
	Verify bool
	// LockWait is how long a compile waits for another one writing Out to
	// finish; 0 fails at once naming the holder.
	LockWait time.Duration
}

// Result is everything a compile produced. Findings are in Diagnostics;
// when it holds errors the later fields may be nil and nothing was written.
type Result struct {
	Diagnostics diag.List
	Fleet       *model.Fleet
	Targets     *target.Result
	Previous    *deploy.State
	Rollout     *rollout.Result // each app's walk through the rings
	Halts       *guard.Halts    // stop-the-line halts in force and lifted
	Mass        *guard.Mass     // what the mass-change guard counted
	Gate        *gate.Result    // decisions; nil until the gate ran
	Verdicts    *gate.Summary   // decisions grouped by verdict and rule
	Desired     *deploy.State
	Plan        *deploy.Plan
	Tree        *deploy.Tree
	Written     *deploy.WriteStats // nil on a dry run
	// Recovered says how the compile settled Out before reading it: it
	// finished or undid a write a crash interrupted ("" if none).
	Recovered string
	// StaleLock is a compile that died holding Out's lock (nil if none).
	StaleLock *deploy.Holder
	Timings   []Timing
}

// Timing is how long one stage took.
type Timing struct {
	Stage string        `json:"stage"`
	Took  time.Duration `json:"took_ns"`
}

// Failed reports whether the compile stopped on findings.
func (r *Result) Failed() bool { return r.Diagnostics.HasErrors() }

// Analyze loads and targets the fleet: everything validate and explain
// need, without policies, rendering or writing.
func Analyze(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{}
	st := res.stage(opts, "load")
	fleet, diags, err := load.Load(ctx, load.Options{Root: opts.Root, Workers: opts.Workers, CacheDir: opts.CacheDir, Progress: st.fileProgress()})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	res.Diagnostics.Merge(diags)
	if res.Diagnostics.HasErrors() {
		res.Diagnostics.Sort()
		return res, nil
	}
	if len(fleet.Stores) == 0 {
		// An inventory that failed to be read or was emptied must never
		// look like every store leaving the fleet.
		res.Diagnostics.Errorf(diag.Pos{File: "inventory"}, "", "no-stores",
			"the fleet declares no stores: fleetc compiles a fleet of at least one store (are the inventory files there?)")
		return res, nil
	}
	res.Fleet = fleet
	st.done(fmt.Sprintf("%d stores, %d apps, %d rings, %d groups", len(fleet.Stores), len(fleet.Apps), len(fleet.Rings), len(fleet.Groups)))

	st = res.stage(opts, "target")
	targets, diags := target.Resolve(ctx, fleet, target.Options{Workers: opts.Workers})
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Diagnostics.HasErrors() {
		return res, nil
	}
	res.Targets = targets
	st.done(fmt.Sprintf("%d assignments, %d variants", countAssignments(targets), len(targets.Variants)))
	return res, ctx.Err()
}

// Compile runs the whole pipeline and, unless DryRun, writes the deploy tree.
// A compile that writes holds Out's lock from before it reads the previous
// state until the tree is written, so two compiles into one Out never mix;
// either kind first finishes or undoes a write a crash interrupted.
func Compile(ctx context.Context, opts Options) (*Result, error) {
	afterLoad, restoreGC := compileGC()
	defer restoreGC()

	var lock *deploy.Lock
	if opts.DryRun || opts.Out == "" {
		if err := recoverOut(opts.Out); err != nil {
			return nil, fmt.Errorf("read %s: %w", opts.Out, err)
		}
	} else {
		var err error
		if lock, err = deploy.TakeLock(opts.Out, deploy.LockOptions{Wait: opts.LockWait, Command: "fleetc compile"}); err != nil {
			return nil, err
		}
		defer lock.Unlock()
	}

	// The policies and the previous state do not depend on the fleet:
	// they are read while it loads.
	type policies struct {
		engine *policy.Engine
		diags  diag.List
		err    error
	}
	type previous struct {
		state *deploy.State
		err   error
	}
	polc, prevc := make(chan policies, 1), make(chan previous, 1)
	go func() {
		engine, diags, err := policy.Load(ctx, policy.Options{Root: opts.Root})
		polc <- policies{engine, diags, err}
	}()
	go func() {
		st, err := deploy.ReadState(opts.Out)
		prevc <- previous{st, err}
	}()
	res, err := Analyze(ctx, opts)
	pol, prevr := <-polc, <-prevc // waited for even when Analyze failed
	if err != nil || res.Failed() {
		return res, err
	}
	if lock != nil {
		res.Recovered, res.StaleLock = lock.Recovered, lock.Stale
	}
	afterLoad()

	st := res.stage(opts, "rollout")
	prev, err := prevr.state, prevr.err
	if err != nil {
		return nil, err
	}
	res.Previous = prev
	ro, diags := runRollout(res, prev, opts)
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil
	}
	res.Rollout = ro
	st.done(ro.Summary())

	st = res.stage(opts, "policy")
	if pol.err != nil {
		return nil, fmt.Errorf("policy: %w", pol.err)
	}
	engine := pol.engine
	res.Diagnostics.Merge(pol.diags)
	approvals, diags, err := readApprovals(opts.ApprovalsFile, opts.Commit, res.Fleet)
	if err != nil {
		return nil, err
	}
	res.Diagnostics.Merge(diags)
	halts, diags := guard.ResolveHalts(res.Fleet, prev, approvals, opts.ProposeSignoff)
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil
	}
	res.Halts = halts
	gated, diags, err := gate.Run(ctx, gate.Options{
		Targets: res.Targets, Previous: prev, Engine: engine, Approvals: approvals,
		Now: opts.Now, Workers: opts.Workers, Propose: opts.ProposeSignoff, Hold: ro.HoldFunc(), Halt: halts.Hold(),
		Budget: opts.PolicyBudget,
	})
	if err != nil {
		return nil, err // fails closed: nothing is written
	}
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil
	}
	res.Gate = gated
	res.Desired = gated.Desired
	res.Desired.Rollouts = ro.Rollouts
	res.Desired.Halts = halts.Records()
	st.done(fmt.Sprintf("%d pairs evaluated (%d policy evaluations), %d decisions recorded", gated.Evaluated, engine.Evaluations(), len(gated.Decisions)))

	st = res.stage(opts, "guard")
	mass, diags := guard.CheckMass(guard.MassInput{
		Fleet: res.Fleet, Targets: res.Targets, Previous: prev, Desired: res.Desired,
		Decisions: gated.Decisions, Approvals: approvals, Propose: opts.ProposeSignoff,
	})
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil
	}
	res.Mass = mass
	if extra := slices.Concat(halts.Decisions, mass.Decisions); len(extra) > 0 {
		gated.Decisions = append(gated.Decisions, extra...) // copies only when a guard records
	}
	// The summaries read what render does not write (render only sets
	// each store's profile): they are made while it renders.
	summarised := make(chan struct{})
	go func() {
		defer close(summarised)
		res.Verdicts = gate.Summarize(gated.Decisions, res.Fleet)
		res.Plan = deploy.Summarize(prev, res.Desired)
		sortPlanRings(res.Plan, res.Fleet)
	}()
	defer func() { <-summarised }()
	st.done(mass.Summary(len(halts.InForce)))

	st = res.stage(opts, "render")
	tree, err := render.Render(ctx, res.Desired, storeVars(res.Fleet), render.Options{Settings: res.Fleet.Settings, Workers: opts.Workers, Previous: prev})
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := addDecisions(tree, gated.Decisions); err != nil {
		return nil, err
	}
	if diags := render.Check(tree); diags.HasErrors() {
		return nil, fmt.Errorf("rendered tree is not valid for Flux (a fleetc bug): %w", diags.Err())
	}
	res.Tree = tree
	<-summarised
	st.done(fmt.Sprintf("%d files", len(tree.Files)))

	if opts.DryRun {
		return res, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st = res.stage(opts, "write")
	// The index explain reads the new state through is built while the
	// files are written (mostly waiting on the file system); it is keyed
	// by the state's content, and a cache that cannot be written only
	// costs the next explain time.
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		if opts.CacheDir != "" {
			_ = indexWrittenState(opts.CacheDir, tree.Files[deploy.StatePath], res.Desired)
		}
	}()
	stats, err := lock.Write(tree, deploy.WriteOptions{Verify: opts.Verify})
	<-indexed
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", opts.Out, err)
	}
	res.Written = &stats
	detail := fmt.Sprintf("%d files, %d unchanged, into %s", stats.Files, stats.Unchanged, opts.Out)
	if stats.Repaired > 0 {
		detail += fmt.Sprintf("; repaired %d that were not what fleetc wrote", stats.Repaired)
	}
	st.done(detail)
	return res, nil
}

// recoverOut finishes or undoes an interrupted write in out, if any, for
// a reader; it changes nothing when there is none (deploy.Recover).
func recoverOut(out string) error {
	if out == "" {
		return nil
	}
	if err := deploy.Recover(out); err != nil {
		return fmt.Errorf("read %s: %w", out, err)
	}
	return nil
}

func storeVars(f *model.Fleet) func(id string) render.StoreVars {
	return func(id string) render.StoreVars {
		s := f.StoreByID[id]
		if s == nil {
			return render.StoreVars{ID: id}
		}
		return render.StoreVars{ID: s.ID, Name: s.Name, Timezone: s.Timezone}
	}
}

func countAssignments(t *target.Result) int {
	n := 0
	for _, s := range t.Stores {
		n += len(s.Apps)
	}
	return n
}

type stageTimer struct {
	res   *Result
	opts  Options
	name  string
	start time.Time
}

func (r *Result) stage(opts Options, name string) *stageTimer {
	return &stageTimer{res: r, opts: opts, name: name, start: time.Now()}
}

func (s *stageTimer) done(detail string) {
	took := time.Since(s.start)
	s.res.Timings = append(s.res.Timings, Timing{Stage: s.name, Took: took})
	if s.opts.Progress != nil {
		s.opts.Progress(s.name, took, detail)
	}
}

// fileProgress reports load progress in steps of a tenth, for fleets of
// more than a few files, through the stage callback.
func (s *stageTimer) fileProgress() func(done, total int) {
	if s.opts.Progress == nil {
		return nil
	}
	last := 0
	return func(done, total int) {
		if total < 50 {
			return
		}
		if step := done * 10 / total; step > last && done < total {
			last = step
			s.opts.Progress(s.name, time.Since(s.start), fmt.Sprintf("%d/%d files", done, total))
		}
	}
}

// sortPlanRings lists each app's rings in rollout order (the state does
// not know ring order; the fleet does). Rings no longer declared go last.
func sortPlanRings(p *deploy.Plan, f *model.Fleet) {
	order := func(name string) int {
		if r := f.RingByID[name]; r != nil {
			return r.Order
		}
		return math.MaxInt
	}
	for i := range p.Summary.Apps {
		slices.SortStableFunc(p.Summary.Apps[i].Rings, func(a, b deploy.RingSummary) int {
			return cmp.Compare(order(a.Ring), order(b.Ring))
		})
	}
}

// runRollout reads the feedback snapshot, if any, and walks each app's
// target through the rings (compiler/internal/rollout).
func runRollout(res *Result, prev *deploy.State, opts Options) (*rollout.Result, diag.List) {
	var snap *rollout.Snapshot
	var diags diag.List
	if opts.FeedbackFile != "" {
		if snap, diags = rollout.ReadSnapshot(opts.FeedbackFile, res.Fleet); diags.HasErrors() {
			return nil, diags
		}
	}
	return rollout.Run(rollout.Options{Targets: res.Targets, Previous: prev, Feedback: snap, Now: opts.Now}), diags
}
