package compiler

import (
	"context"
	"errors"
	"fmt"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/guard"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Explanation answers "why is app X (not) on store Y": targeting (groups,
// ring, selector terms, version, values with layers) and the policy gate's
// verdict with every reason, against the previous state in Out.
type Explanation struct {
	Target   *target.Explanation `json:"target"`
	Decision *gate.Decision      `json:"decision,omitempty"` // nil when the store neither runs nor gets the app
	// Runs is what the store runs now per the previous state ("" = nothing).
	Runs string `json:"runs"`
}

// Explain targets and gates only storeID, then explains each of apps
// (every app of the fleet when empty). It returns the Result too, so
// callers can print findings; when it failed, explanations are nil.
//
// With a cache it first tries the store's fast path (explainfast.go):
// only the files that declare the store or anything but stores are
// decoded, and the previous state is read through its cached index. When
// that path cannot give exactly the full path's answer it falls back to
// analysing the whole fleet; either way the explanations, and the
// findings about the files explain reads, are the same. On the fast path
// Result.Fleet and Result.Targets hold only that store (and every entity
// that is not a store).
func Explain(ctx context.Context, opts Options, storeID string, apps []string) (*Result, []Explanation, error) {
	if err := recoverOut(opts.Out); err != nil {
		return nil, nil, err
	}
	res, out, err := explainFast(ctx, opts, storeID, apps)
	var fb *fallbackError
	if !errors.As(err, &fb) {
		return res, out, err
	}
	if opts.Progress != nil {
		opts.Progress("explain", 0, "analysing the whole fleet: "+fb.why)
	}
	return explainFull(ctx, opts, storeID, apps)
}

// explainFull analyses the whole fleet and gates only storeID's pairs.
func explainFull(ctx context.Context, opts Options, storeID string, apps []string) (*Result, []Explanation, error) {
	res, err := Analyze(ctx, opts)
	if err != nil || res.Failed() {
		return res, nil, err
	}
	return explainAnalyzed(ctx, opts, res, storeID, apps)
}

// explainAnalyzed is explainFull after Analyze succeeded.
func explainAnalyzed(ctx context.Context, opts Options, res *Result, storeID string, apps []string) (*Result, []Explanation, error) {
	out, err := targetExplanations(res, storeID, &apps)
	if err != nil {
		return res, nil, err
	}
	return explainGate(ctx, opts, res, storeID, apps, out, func() (*deploy.State, *gate.History, error) {
		if opts.Out == "" {
			return deploy.NewState(), nil, nil
		}
		prev, err := deploy.ReadState(opts.Out)
		return prev, nil, err
	})
}

// targetExplanations explains the targeting of each app (every app of the
// fleet when *apps is empty, which it then lists). Unknown store or app
// ids fail fast with suggestions.
func targetExplanations(res *Result, storeID string, apps *[]string) ([]Explanation, error) {
	if len(*apps) == 0 {
		for _, a := range res.Fleet.Apps {
			*apps = append(*apps, a.ID)
		}
	}
	out := make([]Explanation, len(*apps))
	for i, app := range *apps {
		te, err := res.Targets.Explain(storeID, app)
		if err != nil {
			return nil, err
		}
		out[i].Target = te
	}
	return out, nil
}

// explainGate loads the policies and approvals, reads the previous state
// (previous returns it, and the history to gate with, nil for the one
// indexed from it), gates storeID and completes out with each app's
// decision and what the store runs now.
func explainGate(ctx context.Context, opts Options, res *Result, storeID string, apps []string, out []Explanation,
	previous func() (*deploy.State, *gate.History, error)) (*Result, []Explanation, error) {
	engine, diags, err := policy.Load(ctx, policy.Options{Root: opts.Root})
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	res.Diagnostics.Merge(diags)
	approvals, diags, err := readApprovals(opts.ApprovalsFile, opts.Commit, res.Fleet)
	if err != nil {
		return nil, nil, err
	}
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil, nil
	}
	prev, hist, err := previous()
	if err != nil {
		return nil, nil, err
	}
	var rollouts map[string]*deploy.Rollout
	recorded := deploy.NewState() // the halts in force before, alone
	if opts.Out != "" {
		if rollouts, recorded.Halts, err = deploy.ReadTail(opts.Out); err != nil {
			return nil, nil, err
		}
	}
	halts, diags := guard.ResolveHalts(res.Fleet, recorded, approvals, false)
	res.Diagnostics.Merge(diags)
	gated, diags, err := gate.Run(ctx, gate.Options{
		Targets: res.Targets, Previous: prev, Engine: engine, Approvals: approvals, History: hist,
		Now: opts.Now, Workers: opts.Workers, Only: []string{storeID}, RecordAll: true, Budget: opts.PolicyBudget,
		Hold: rollout.LastHold(rollouts, res.Fleet), Halt: halts.Hold(),
	})
	if err != nil {
		return nil, nil, err
	}
	res.Diagnostics.Merge(diags)
	for i := range out {
		e := &out[i]
		for j := range gated.Decisions {
			if d := &gated.Decisions[j]; d.App == apps[i] {
				e.Decision = d
			}
		}
		if ss := prev.Stores[storeID]; ss != nil {
			if vid, ok := ss.Apps[apps[i]]; ok {
				e.Runs = prev.VariantVersion(vid)
			}
		}
	}
	return res, out, nil
}
