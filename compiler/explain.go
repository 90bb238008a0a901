package compiler

import (
	"context"
	"fmt"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
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

// Explain analyses the fleet and gates only storeID's pairs, then explains
// each of apps (every app of the fleet when empty). It returns the Result
// too, so callers can print findings; when it failed, explanations are nil.
func Explain(ctx context.Context, opts Options, storeID string, apps []string) (*Result, []Explanation, error) {
	res, err := Analyze(ctx, opts)
	if err != nil || res.Failed() {
		return res, nil, err
	}
	if len(apps) == 0 {
		for _, a := range res.Fleet.Apps {
			apps = append(apps, a.ID)
		}
	}
	// Targeting first: unknown store or app ids fail fast with suggestions.
	out := make([]Explanation, len(apps))
	for i, app := range apps {
		te, err := res.Targets.Explain(storeID, app)
		if err != nil {
			return res, nil, err
		}
		out[i].Target = te
	}
	engine, diags, err := policy.Load(ctx, policy.Options{Root: opts.Root})
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	res.Diagnostics.Merge(diags)
	approvals, diags, err := readApprovals(opts.ApprovalsFile, res.Fleet)
	if err != nil {
		return nil, nil, err
	}
	res.Diagnostics.Merge(diags)
	res.Diagnostics.Sort()
	if res.Failed() {
		return res, nil, nil
	}
	prev := deploy.NewState()
	if opts.Out != "" {
		if prev, err = deploy.ReadState(opts.Out); err != nil {
			return nil, nil, err
		}
	}
	gated, diags, err := gate.Run(ctx, gate.Options{
		Targets: res.Targets, Previous: prev, Engine: engine, Approvals: approvals,
		Now: opts.Now, Workers: opts.Workers, Only: []string{storeID}, RecordAll: true,
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
