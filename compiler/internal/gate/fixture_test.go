package gate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// now is the pinned clock of every test: Tuesday 2026-11-24 09:00 UTC.
var now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

var (
	engineOnce sync.Once
	engine     *policy.Engine
	engineErr  error
)

// defaultEngine loads the embedded default bundle once (an empty root has
// no policies/ directory).
func defaultEngine(t *testing.T) *policy.Engine {
	t.Helper()
	engineOnce.Do(func() {
		var diags diag.List
		engine, diags, engineErr = policy.Load(context.Background(), policy.Options{Root: t.TempDir()})
		if engineErr == nil && diags.HasErrors() {
			engineErr = diags.Err()
		}
	})
	if engineErr != nil {
		t.Fatalf("load embedded policies: %v", engineErr)
	}
	if !engine.Embedded() {
		t.Fatal("engine does not run the embedded bundle")
	}
	return engine
}

func fpos(file string, line int) diag.Pos { return diag.Pos{File: file, Line: line, Col: 1} }

// fleetStore is a store open around the clock with no hours, so its window
// is always open unless a group window says otherwise.
func fleetStore(id, region, tz string, line int) *model.Store {
	return &model.Store{
		ID: id, Name: id, Geo: "us/x/" + id, Timezone: tz,
		Jurisdiction: model.Jurisdiction{Country: "US", Region: region},
		Attributes:   model.Attributes{Owner: "corporate", DriveThruLanes: 1, Devices: []string{"dtcam"}},
		Cluster:      model.Cluster{Nodes: 1},
		Pos:          fpos("inventory/stores.cue", line),
	}
}

// testFleet is four stores and two apps:
//
//	il-1  US-IL  America/Chicago      ring chain
//	wi-1  US-WI  America/Chicago      ring canary
//	wi-2  US-WI  America/Chicago      ring chain
//	ca-1  US-CA  America/Los_Angeles  ring chain
//
// pos 2.0.0 and drive-thru-vision 0.9.3 target every store. Rings need no
// sign-off unless a case sets one; teams ops (dokafor) and legal (hweiss).
func testFleet() *model.Fleet {
	helm := func(chart string) model.AppSource {
		return model.AppSource{Helm: &model.HelmSource{Repository: "https://charts.example.com", Chart: chart}}
	}
	return &model.Fleet{
		Stores: []*model.Store{
			fleetStore("il-1", "IL", "America/Chicago", 1),
			fleetStore("wi-1", "WI", "America/Chicago", 2),
			fleetStore("wi-2", "WI", "America/Chicago", 3),
			fleetStore("ca-1", "CA", "America/Los_Angeles", 4),
		},
		Apps: []*model.App{
			{ID: "pos", Namespace: "pos", Version: "2.0.0", Source: helm("pos"), Values: map[string]any{"lang": "en"}, Pos: fpos("apps/pos.cue", 1)},
			{ID: "drive-thru-vision", Namespace: "vision", Version: "0.9.3", Source: helm("dtv"), Pos: fpos("apps/dtv.cue", 1)},
		},
		Rings: []*model.Ring{
			{Name: "canary", Order: 1, Stores: []string{"wi-1"}, Pos: fpos("rings/rings.cue", 1)},
			{Name: "chain", Order: 2, Stores: []string{"il-1", "wi-2", "ca-1"}, Pos: fpos("rings/rings.cue", 2)},
		},
		Teams: []*model.Team{
			{Name: "ops", Members: []string{"dokafor"}},
			{Name: "legal", Members: []string{"hweiss"}},
		},
	}
}

func resolve(t *testing.T, f *model.Fleet) *target.Result {
	t.Helper()
	f.Index()
	tr, diags := target.Resolve(context.Background(), f, target.Options{Workers: 1})
	if diags.HasErrors() {
		t.Fatalf("target: %v", diags.Err())
	}
	return tr
}

// variantOf is the target variant id of app on store.
func variantOf(t *testing.T, tr *target.Result, store, app string) string {
	t.Helper()
	for _, st := range tr.Stores {
		if st.Store.ID != store {
			continue
		}
		for _, a := range st.Apps {
			if a.App.ID == app {
				return a.Variant.ID
			}
		}
	}
	t.Fatalf("store %s gets no %s", store, app)
	return ""
}

// Old variants that only the previous state knows.
const (
	posOld = "pos@1.0.0-aaaaaaaaaa"
	gone   = "coupons@3.1.0-bbbbbbbbbb"
)

// prevState is a previous state: per store its ring and the variant ids it
// runs. Specs come from the target when it knows the id, else a spec that
// exists only in the previous state (posOld, gone).
func prevState(tr *target.Result, rings map[string]string, runs map[string][]string) *deploy.State {
	st := deploy.NewState()
	for store, ids := range runs {
		ss := &deploy.StoreState{Ring: rings[store], Apps: map[string]string{}}
		if ss.Ring == "" {
			ss.Ring = tr.StoreRing[store]
		}
		for _, id := range ids {
			app, version, _, ok := deploy.SplitVariantID(id)
			if !ok {
				panic("bad variant id " + id)
			}
			ss.Apps[app] = id
			if v, ok := tr.Variants[id]; ok {
				st.Variants[id] = &deploy.Variant{App: v.App, Version: v.Version, Namespace: v.Namespace, Source: v.Source, Values: v.Values}
			} else {
				st.Variants[id] = &deploy.Variant{App: app, Version: version, Namespace: app, Values: map[string]any{"previous": true}}
			}
		}
		st.Stores[store] = ss
	}
	return st
}

// allTeams approves every sign-off the default bundle can ask for, so a
// case sees only the rule it is about.
var allTeams = policy.ApprovalSet{Users: []string{"dokafor", "hweiss"}, Teams: []string{"franchise-relations", "legal", "ops"}}

func run(t *testing.T, opts Options) *Result {
	t.Helper()
	opts.Engine = defaultEngine(t)
	if opts.Now.IsZero() {
		opts.Now = now
	}
	opts.Workers = 1
	res, diags, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("gate: %v", err)
	}
	if diags.HasErrors() {
		t.Fatalf("gate: %v", diags.Err())
	}
	return res
}

// decisionOf finds the recorded decision of (store, app), or nil.
func decisionOf(res *Result, store, app string) *Decision {
	for i := range res.Decisions {
		if d := &res.Decisions[i]; d.Store == store && d.App == app {
			return d
		}
	}
	return nil
}
