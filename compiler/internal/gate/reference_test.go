package gate

import (
	"context"
	"slices"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// runReference is the gate done the straightforward way: one input per
// pair (candidates), each evaluated on its own (NoMemo), verdicts applied
// pair by pair. Run must give exactly its result.
func runReference(ctx context.Context, opts Options) (*Result, error) {
	b, diags := newBuilder(opts)
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	inputs, pairs := b.candidates()
	decisions, err := opts.Engine.Decide(ctx, inputs, policy.EvalOptions{Now: opts.Now, Workers: opts.Workers, Approvals: opts.Approvals, NoMemo: true})
	if err != nil {
		return nil, err
	}
	res := &Result{Evaluated: len(inputs), Desired: &deploy.State{Schema: 1, Variants: map[string]*deploy.Variant{}, Stores: map[string]*deploy.StoreState{}}}
	for i := range b.t.Stores {
		if st := &b.t.Stores[i]; b.included(i) {
			res.Desired.Stores[st.Store.ID] = &deploy.StoreState{Ring: st.Ring, Apps: map[string]string{}}
			if b.schedules != nil {
				res.Desired.Stores[st.Store.ID].Hold = &deploy.Hold{}
			}
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
			ss := res.Desired.Stores[st.Store.ID]
			ss.Apps[p.app] = runs
			frozen := slices.ContainsFunc(in.Freezes, func(f policy.Freeze) bool { return f.Active })
			if b.schedules != nil && runs == p.to && p.to != p.from && in.Change.Kind != policy.None && (!in.Window.Open || frozen) {
				ss.Hold.Unheld = append(ss.Hold.Unheld, runs)
			}
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
		if verdict == policy.Deny && dec.Kind == policy.None && runs == "" {
			dec.Kind, dec.To = policy.Remove, "" // what the deny does to the store
		}
		res.Decisions = append(res.Decisions, dec)
	}
	if b.schedules != nil {
		for i := range b.t.Stores {
			if ss := res.Desired.Stores[b.t.Stores[i].Store.ID]; ss != nil {
				ss.Hold.Window, ss.Hold.Freezes = b.schedules[i], b.freezeTexts[b.freezeSet[i]]
				// kept from the previous state: what the store still runs
				if prev := b.prev.Stores[b.t.Stores[i].Store.ID]; prev != nil && prev.Hold != nil {
					for _, vid := range prev.Hold.Unheld {
						app, _, _, _ := deploy.SplitVariantID(vid)
						if ss.Apps[app] == vid && !slices.Contains(ss.Hold.Unheld, vid) {
							ss.Hold.Unheld = append(ss.Hold.Unheld, vid)
						}
					}
				}
				slices.Sort(ss.Hold.Unheld)
			}
		}
	}
	return res, nil
}
