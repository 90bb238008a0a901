package gate

import (
	"context"
	"fmt"
	"slices"
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
	// Only, when set, restricts the candidates to these stores (explain).
	// The desired state then holds only them.
	Only []string
	// RecordAll records every pair's decision, unchanged ones too.
	RecordAll bool
	// Propose renders needs-signoff changes instead of holding them: the
	// deploy merge request carries them, and the sign-off gate keeps it
	// from merging until the teams recorded in decisions.jsonl approve.
	Propose bool
}

// Decision is one recorded verdict: a pair whose version or variant would
// change, or a deny. A line of .fleetc/decisions.jsonl.
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

// Run evaluates every candidate and assembles the desired state.
func Run(ctx context.Context, opts Options) (*Result, diag.List, error) {
	b, diags := newBuilder(opts)
	if diags.HasErrors() {
		return nil, diags, nil
	}
	inputs, pairs := b.candidates()
	decisions, err := opts.Engine.Decide(ctx, inputs, policy.EvalOptions{Now: opts.Now, Workers: opts.Workers, Approvals: opts.Approvals})
	if err != nil {
		return nil, diags, fmt.Errorf("policy gate (failing closed, nothing changes): %w", err)
	}
	res := b.apply(pairs, inputs, decisions)
	res.Evaluated = len(inputs)
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

// apply turns verdicts into the desired state and the recorded decisions.
func (b *builder) apply(pairs []pair, inputs []policy.Input, decisions []policy.Decision) *Result {
	res := &Result{Desired: &deploy.State{Schema: 1, Variants: map[string]*deploy.Variant{}, Stores: make(map[string]*deploy.StoreState, len(b.t.Stores))}}
	for i := range b.t.Stores {
		if st := &b.t.Stores[i]; b.included(i) {
			res.Desired.Stores[st.Store.ID] = &deploy.StoreState{Ring: st.Ring, Apps: map[string]string{}}
		}
	}
	for i, p := range pairs {
		st := &b.t.Stores[p.store]
		d := decisions[i]
		in := &inputs[i]
		verdict, reasons := d.Verdict, d.Reasons
		if b.paused(st.Store) && verdict == policy.Allow && in.Change.Kind != policy.None {
			verdict = policy.Defer
			reasons = append(slices.Clone(reasons), policy.Reason{Rule: "fleetc.paused", Verdict: policy.Defer, Msg: "store is paused: " + st.Store.Pause.Reason, Pos: st.Store.Pos})
		}
		runs := p.to
		switch verdict {
		case policy.Deny:
			runs = ""
		case policy.Defer:
			runs = p.from
		case policy.NeedsSignoff:
			if !b.propose {
				runs = p.from
			}
		}
		if runs != "" {
			res.Desired.Stores[st.Store.ID].Apps[p.app] = runs
			if _, ok := res.Desired.Variants[runs]; !ok {
				res.Desired.Variants[runs] = b.variant(runs)
			}
		}
		if in.Change.Kind == policy.None && verdict != policy.Deny && !b.recordAll {
			continue
		}
		dec := Decision{
			Store: st.Store.ID, App: p.app, Ring: st.Ring, Kind: in.Change.Kind,
			From: p.fromV, To: p.toV, Verdict: verdict, Reasons: reasons, Teams: d.Teams,
		}
		for _, r := range reasons {
			if !slices.Contains(dec.Rules, r.Rule) {
				dec.Rules = append(dec.Rules, r.Rule)
			}
		}
		if verdict == policy.Defer && !d.Until.IsZero() {
			u := d.Until.UTC()
			dec.Until = &u
		}
		if runs != "" {
			dec.Runs = b.version(runs)
		}
		res.Decisions = append(res.Decisions, dec)
	}
	return res
}

// variant returns the spec of a variant id from the target (new) or the
// previous state (kept).
func (b *builder) variant(id string) *deploy.Variant {
	if v, ok := b.t.Variants[id]; ok {
		return &deploy.Variant{App: v.App, Version: v.Version, Namespace: v.Namespace, Source: v.Source, DependsOn: v.DependsOn, Values: v.Values}
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
