package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// OPAResult is a sampled naive evaluation.
type OPAResult struct {
	Sampled int           // pairs evaluated
	Took    time.Duration // for the sample
	PerPair time.Duration
	Pairs   int           // pairs in the fleet
	Total   time.Duration // PerPair × Pairs: the extrapolated naive cost
}

// OPANaive prepares the policies of root/policies once (as anyone would)
// and evaluates the whole data.fleetc document once per (store, app) pair
// for the first sample pairs, each with a Go map input that OPA converts
// on every call, no memo. It extrapolates to every pair of the fleet.
func OPANaive(ctx context.Context, root string, t *target.Result, now time.Time, sample int) (*OPAResult, error) {
	opts := []func(*rego.Rego){rego.Query("data.fleetc")}
	dir := filepath.Join(root, "policies")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			opts = append(opts, rego.Module(p, string(b)))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	res := &OPAResult{}
	for _, st := range t.Stores {
		res.Pairs += len(st.Apps)
	}
	start := time.Now()
stores:
	for _, st := range t.Stores {
		s := st.Store
		w, err := calendar.StoreWindow(s, nil, t.Fleet.Settings.Window, now)
		if err != nil {
			return nil, err
		}
		for _, a := range st.Apps {
			if res.Sampled == sample {
				break stores
			}
			input := map[string]any{
				"store": map[string]any{
					"id": s.ID, "name": s.Name, "geo": s.Geo, "timezone": s.Timezone,
					"jurisdiction": map[string]any{"country": s.Jurisdiction.Country, "region": s.Jurisdiction.Region, "city": s.Jurisdiction.City},
					"attributes":   s.Attributes, "groups": t.StoreGroups[s.ID], "paused": s.Pause != nil,
				},
				"app":       map[string]any{"id": a.App.ID, "namespace": a.App.Namespace},
				"change":    map[string]any{"from": "", "to": a.Version, "kind": "install"},
				"ring":      t.Fleet.RingByID[st.Ring],
				"values":    a.Variant.Values,
				"window":    map[string]any{"open": w.Open, "opens_at": w.OpensAt.Format(time.RFC3339), "closes_at": w.ClosesAt.Format(time.RFC3339), "source": w.Source, "zone": w.Zone},
				"freezes":   []any{},
				"overrides": []any{},
				"approvals": map[string]any{"users": []string{}, "teams": []string{}},
				"history":   map[string]any{"ring_has_version": false, "jurisdiction_has_app": false},
				"now":       now.Format(time.RFC3339),
			}
			if _, err := pq.Eval(ctx, rego.EvalInput(input), rego.EvalTime(now)); err != nil {
				return nil, fmt.Errorf("eval %s/%s: %w", s.ID, a.App.ID, err)
			}
			res.Sampled++
		}
	}
	res.Took = time.Since(start)
	if res.Sampled > 0 {
		res.PerPair = res.Took / time.Duration(res.Sampled)
	}
	res.Total = res.PerPair * time.Duration(res.Pairs)
	return res, nil
}
