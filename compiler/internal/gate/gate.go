package gate

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Options are the gate's inputs.
type Options struct {
	Targets   *target.Result
	Previous  *deploy.State
	Engine    *policy.Engine
	Approvals policy.ApprovalSet
	Now       time.Time
	Workers   int
	// Budget bounds the policies' evaluation (policy.Budget; zero fields
	// are the defaults). Exceeding it fails the gate closed.
	Budget policy.Budget
	// Only, when set, restricts the candidates to these stores (explain).
	// The desired state then holds only them.
	Only []string
	// RecordAll records every pair's decision, unchanged ones too.
	RecordAll bool
	// Propose renders needs-signoff changes instead of holding them: the
	// deploy merge request carries them, and the sign-off gate keeps it
	// from merging until the teams recorded in decisions.jsonl approve.
	Propose bool
	// History, when set, is what the sign-off rules read of the previous
	// state instead of an index of Previous against the fleet's stores.
	// Explain sets it with Only: its Previous holds only the explained
	// store, the history covers the whole previous state. It must answer
	// for the ring and jurisdiction of every store the gate includes.
	History *History
	// Hold, when set, is the rollout stage: whether a change of app in a
	// ring to a version waits for the ring before it, why and until when
	// (nil: not known). A held change that the policies allow keeps the
	// store on what it runs and is recorded as a defer (rule
	// fleetc.rollout), like a paused store's.
	Hold func(app, ring, version string) (reason policy.Reason, until *time.Time, ok bool)
	// Halt, when set, is stop the line (compiler/internal/guard): whether
	// a halt stops every change of app in ring. A halted change — any
	// kind, removals too, except a removal a policy denies — keeps the
	// store on what it runs and is recorded as a defer (rule
	// fleetc.halt).
	Halt func(app, ring string) (reason policy.Reason, ok bool)
}

// RulePaused is the rule the gate adds itself for a paused store (the
// rollout's holds come with their own reason, rule fleetc.rollout).
const RulePaused = "fleetc.paused"

// Decision is one recorded verdict: a pair whose version or variant would
// change, or a deny. .fleetc/decisions.jsonl has a line per group of
// decisions that differ only in their store (AppendJSONL); the json tags
// are the line format fleetc wrote before, one decision a line.
type Decision struct {
	Store   string            `json:"store"`
	App     string            `json:"app"`
	Ring    string            `json:"ring"`
	Kind    policy.ChangeKind `json:"kind"`
	From    string            `json:"from,omitempty"`
	To      string            `json:"to,omitempty"`
	Verdict policy.Verdict    `json:"verdict"`
	Rules   []string          `json:"rules,omitempty"`
	Reasons []policy.Reason   `json:"reasons,omitempty"`
	Teams   []string          `json:"teams,omitempty"` // sign-off still missing
	Until   *time.Time        `json:"until,omitempty"` // deferred until, when known
	// Runs is the version the store runs after this compile ("" = none).
	Runs string `json:"runs,omitempty"`
}

// Result is the gate's output.
type Result struct {
	// Decisions lists recorded verdicts in store, then app order.
	Decisions []Decision
	// Evaluated counts every (store, app) pair put to the policies.
	Evaluated int
	Desired   *deploy.State
}

// Run evaluates every candidate and assembles the desired state. Pairs are
// classified (see classes.go) and each class is decided once; the result
// is exactly that of deciding every pair on its own.
func Run(ctx context.Context, opts Options) (*Result, diag.List, error) {
	b, diags := newBuilder(opts)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	session, err := opts.Engine.NewSession(policy.EvalOptions{Now: opts.Now, Workers: opts.Workers, Approvals: opts.Approvals, Budget: opts.Budget})
	if err != nil {
		return nil, diags, fmt.Errorf("policy gate: %w", err)
	}
	defer session.Close()
	c := newClassifier(b, session, opts.Workers)
	c.classifyStores()

	// Each chunk of stores lists its pairs as entry indexes.
	const chunk = 512
	n := len(b.t.Stores)
	chunks := make([][]int32, (n+chunk-1)/chunk)
	npairs := make([]int32, n)
	err = forChunks(ctx, n, chunk, c.workers, func(lo, hi int) error {
		local := map[pairKey]int32{}
		var buf []cand
		var out []int32
		for i := lo; i < hi; i++ {
			if c.storeCls[i] < 0 {
				continue
			}
			before := len(out)
			buf, out = c.classifyPairs(i, buf, local, out)
			npairs[i] = int32(len(out) - before)
		}
		chunks[lo/chunk] = out
		return nil
	})
	if err != nil {
		return nil, diags, fmt.Errorf("policy gate: %w", err)
	}

	// Each class is decided once.
	err = forChunks(ctx, len(c.entries), 16, c.workers, func(lo, hi int) error {
		for k := lo; k < hi; k++ {
			e := &c.entries[k]
			in := c.input(e)
			d, err := session.Decide(ctx, &in)
			if err != nil {
				return err
			}
			c.settle(e, d)
		}
		return nil
	})
	if err != nil {
		return nil, diags, fmt.Errorf("policy gate (failing closed, nothing changes): %w", err)
	}
	res, err := c.assemble(ctx, chunks, chunk, npairs)
	if err != nil {
		return nil, diags, fmt.Errorf("policy gate: %w", err)
	}
	return res, diags, nil
}

// pair locates one candidate: the store's index in Targets.Stores, the
// app id and the previous and target variants.
type pair struct {
	store      int
	app        string
	from, to   string // variant ids; "" = none
	fromV, toV string // versions
}

// assemble applies the verdicts: per store its desired apps, and the
// recorded decisions in store then app order, sized exactly.
func (c *classifier) assemble(ctx context.Context, chunks [][]int32, chunk int, npairs []int32) (*Result, error) {
	b := c.b
	n := len(b.t.Stores)
	states := make([]*deploy.StoreState, n)
	nrec := make([]int, len(chunks)) // recorded decisions per chunk
	used := make([][]bool, len(chunks))
	var evaluated atomic.Int64
	err := forChunks(ctx, n, chunk, c.workers, func(lo, hi int) error {
		pairs := chunks[lo/chunk]
		u := make([]bool, len(c.vars))
		k, rec := 0, 0
		for i := lo; i < hi; i++ {
			if c.storeCls[i] < 0 {
				continue
			}
			st := &b.t.Stores[i]
			m := int(npairs[i])
			ss := &deploy.StoreState{Ring: st.Ring, Apps: make(map[string]string, m)}
			if b.schedules != nil {
				ss.Hold = &deploy.Hold{}
			}
			paused := b.paused(st.Store)
			for _, ei := range pairs[k : k+m] {
				e := &c.entries[ei]
				runs := e.runs
				if r, _ := c.hold(st, paused, e); r != nil {
					runs = e.key.from
				}
				if runs >= 0 {
					ss.Apps[c.apps[e.key.app].ID] = c.vars[runs].id
					u[runs] = true
					if b.schedules != nil && e.outside && runs == e.key.to && runs != e.key.from && e.kind != policy.None && e.kind != policy.Remove {
						ss.Hold.Unheld = append(ss.Hold.Unheld, c.vars[runs].id)
					}
				}
				if e.recorded {
					rec++
				}
			}
			k += m
			if b.schedules != nil {
				ss.Hold.Window, ss.Hold.Freezes = b.schedules[i], b.freezeTexts[b.freezeSet[i]]
				ss.Hold.Unheld = keepUnheld(ss, b.prev.Stores[st.Store.ID])
			}
			states[i] = ss
		}
		evaluated.Add(int64(k))
		nrec[lo/chunk] = rec
		used[lo/chunk] = u
		return nil
	})
	if err != nil {
		return nil, err // a partial desired state must never be returned
	}
	res := &Result{Evaluated: int(evaluated.Load()), Desired: &deploy.State{Schema: 1, Variants: map[string]*deploy.Variant{}, Stores: make(map[string]*deploy.StoreState, n)}}
	for i, ss := range states {
		if ss != nil {
			res.Desired.Stores[b.t.Stores[i].Store.ID] = ss
		}
	}
	for v := range c.vars {
		for _, u := range used {
			if u != nil && u[v] {
				res.Desired.Variants[c.vars[v].id] = b.variant(c.vars[v].id)
				break
			}
		}
	}
	total := 0
	offs := make([]int, len(chunks))
	for ci, r := range nrec {
		offs[ci] = total
		total += r
	}
	if total == 0 {
		return res, nil
	}
	res.Decisions = make([]Decision, total)
	err = forChunks(ctx, n, chunk, c.workers, func(lo, hi int) error {
		pairs := chunks[lo/chunk]
		out := res.Decisions[offs[lo/chunk]:]
		k, j := 0, 0
		for i := lo; i < hi; i++ {
			if c.storeCls[i] < 0 {
				continue
			}
			st := &b.t.Stores[i]
			m := int(npairs[i])
			paused := b.paused(st.Store)
			for _, ei := range pairs[k : k+m] {
				e := &c.entries[ei]
				if !e.recorded {
					continue
				}
				d := &out[j]
				j++
				*d = Decision{
					Store: st.Store.ID, App: c.apps[e.key.app].ID, Ring: st.Ring, Kind: e.kind,
					Verdict: e.d.Verdict, Rules: e.rules, Reasons: e.d.Reasons, Teams: e.d.Teams, Until: e.until,
				}
				if e.key.from >= 0 {
					d.From = c.vars[e.key.from].fromV
				}
				if e.key.to >= 0 {
					d.To = c.vars[e.key.to].toV
				}
				runs := e.runs
				if r, until := c.hold(st, paused, e); r != nil {
					runs = e.key.from
					d.Verdict = policy.Defer
					d.Reasons = append(slices.Clone(e.d.Reasons), *r)
					d.Rules = ruleIDs(d.Reasons)
					d.Until = until
				}
				d.Runs = c.version(runs)
				if d.Verdict == policy.Deny && d.Kind == policy.None && runs < 0 {
					// What happens to the store: a deny of an app it runs
					// removes it, whatever the candidate change was (the
					// policies saw "none" when the target is what it runs).
					d.Kind, d.To = policy.Remove, ""
				}
			}
			k += m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// hold is what keeps a store on what it runs after a change the gate lets
// through (allowed, or needing sign-off under Propose, which renders it):
// a halt stops the line, the store is paused, or the rollout has not
// opened the store's ring to the target version yet. Only a halt holds a
// removal, and never one a policy denies (a legal removal goes ahead). It
// returns the reason to record and until when, or nil: the change goes
// ahead.
func (c *classifier) hold(st *target.StoreTarget, paused bool, e *entry) (*policy.Reason, *time.Time) {
	if e.kind == policy.None || e.runs == e.key.from {
		return nil, nil
	}
	if c.b.halt != nil && e.d.Verdict != policy.Deny {
		if r, ok := c.b.halt(c.apps[e.key.app].ID, st.Ring); ok {
			return &r, nil
		}
	}
	if e.kind == policy.Remove || e.runs < 0 {
		return nil, nil
	}
	if paused {
		return &policy.Reason{Rule: RulePaused, Verdict: policy.Defer, Msg: "store is paused: " + st.Store.Pause.Reason, Pos: st.Store.Pos}, nil
	}
	if c.b.hold == nil {
		return nil, nil
	}
	if r, until, ok := c.b.hold(c.apps[e.key.app].ID, st.Ring, c.vars[e.key.to].toV); ok {
		return &r, until
	}
	return nil, nil
}

// variant returns the spec of a variant id from the target (new) or the
// previous state (kept).
func (b *builder) variant(id string) *deploy.Variant {
	if v, ok := b.t.Variants[id]; ok {
		return &deploy.Variant{App: v.App, Version: v.Version, Namespace: v.Namespace, Source: v.Source, DependsOn: v.DependsOn, Values: v.Values, Health: v.Health}
	}
	return b.prev.Variants[id]
}

func (b *builder) version(id string) string {
	if v, ok := b.t.Variants[id]; ok {
		return v.Version
	}
	return b.prev.VariantVersion(id)
}

func (b *builder) paused(s *model.Store) bool {
	if s.Pause == nil {
		return false
	}
	if s.Pause.Until == "" {
		return true
	}
	until, err := time.Parse(time.RFC3339, s.Pause.Until)
	return err != nil || b.now.Before(until)
}

// keepUnheld adds to ss.Unheld the variants an earlier compile let through
// outside the store's window that the store still runs after this one (the
// store may not have applied them yet: its agent must go on letting them
// through), and sorts the list.
func keepUnheld(ss, prev *deploy.StoreState) []string {
	out := ss.Hold.Unheld
	if prev != nil && prev.Hold != nil {
		for _, vid := range prev.Hold.Unheld {
			app, _, _, ok := deploy.SplitVariantID(vid)
			if ok && ss.Apps[app] == vid && !slices.Contains(out, vid) {
				out = append(out, vid)
			}
		}
	}
	slices.Sort(out)
	return out
}
