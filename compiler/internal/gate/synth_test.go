package gate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// synthZones are the zones and jurisdictions of the synthetic fleet; IL
// and QC stores meet the legal rules of the default bundle.
var synthZones = []struct{ zone, country, region, geo string }{
	{"America/New_York", "US", "NY", "us/northeast/ny"},
	{"America/New_York", "US", "MA", "us/northeast/ma"},
	{"America/Chicago", "US", "IL", "us/midwest/il"},
	{"America/Chicago", "US", "TX", "us/south/tx"},
	{"America/Denver", "US", "CO", "us/west/co"},
	{"America/Phoenix", "US", "AZ", "us/west/az"},
	{"America/Los_Angeles", "US", "CA", "us/west/ca"},
	{"America/Toronto", "CA", "QC", "ca/qc"},
}

func synthHours(open, close string) map[string]model.DayHours {
	h := map[string]model.DayHours{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		h[d] = model.DayHours{Open: open, Close: close}
	}
	return h
}

// synthFleet builds a fleet shaped like production: zones and
// jurisdictions, three opening-hours classes and a group window, five
// rings (chain needs sign-off), apps with group overrides and ring pins,
// store values on one store in a hundred, a local freeze in force for some
// apps, a fleet-wide freeze ahead, window and freeze overrides, and a few
// paused stores. rng varies the shape for randomized tests; nil is the
// fixed benchmark shape.
func synthFleet(nStores, nApps int, rng *rand.Rand) *model.Fleet {
	pick := func(n, fixed int) int {
		if rng == nil {
			return fixed % n
		}
		return rng.IntN(n)
	}
	f := &model.Fleet{Settings: model.Settings{Window: model.WindowDefaults{
		AfterClose: model.Duration(30 * 60e9), BeforeOpen: model.Duration(60 * 60e9)}}}
	hours := []map[string]model.DayHours{synthHours("06:00", "22:00"), synthHours("10:00", "02:00"), synthHours("05:00", "23:00"), nil}
	rings := []string{"lab", "canary", "pilot", "early", "chain"}
	for i := range nStores {
		z := synthZones[pick(len(synthZones), i)]
		ring := "chain"
		switch r := pick(100, i); {
		case r < 2:
			ring = "lab"
		case r < 5:
			ring = "canary"
		case r < 20:
			ring = "pilot"
		case r < 40:
			ring = "early"
		}
		s := &model.Store{
			ID: fmt.Sprintf("s-%05d", i), Name: fmt.Sprintf("Store %d", i),
			Geo: z.geo + fmt.Sprintf("/city-%d", i%7), Timezone: z.zone, Hours: hours[pick(len(hours), i/8)],
			Jurisdiction: model.Jurisdiction{Country: z.country, Region: z.region, City: fmt.Sprintf("city-%d", i%7)},
			Attributes: model.Attributes{
				Owner: "corporate", Format: []string{"small", "standard", "large"}[i%3], DriveThruLanes: i % 3,
				Languages: []string{"en"}, Labels: map[string]string{"ring": ring},
			},
			Cluster: model.Cluster{Nodes: 1},
		}
		if z.region == "QC" {
			s.Attributes.Languages = []string{"fr", "en"}
		}
		if pick(3, i) == 0 {
			s.Attributes.Owner, s.Attributes.Franchisee = "franchise", fmt.Sprintf("f-%02d", i%20)
		}
		if pick(100, i) == 1 {
			s.Values = map[string]map[string]any{"app-02": {"ui": map[string]any{"banner": fmt.Sprintf("store %d", i)}}}
		}
		if pick(1000, i) == 7 {
			s.Pause = &model.Pause{Reason: "remodel"}
		}
		f.Stores = append(f.Stores, s)
	}
	for _, z := range synthZones {
		f.Groups = append(f.Groups, &model.Group{Name: "geo-" + z.region, Geo: []string{z.geo}})
	}
	f.Groups = append(f.Groups,
		&model.Group{Name: "franchise", Selector: term(req("owner", model.In, "franchise"))},
		&model.Group{Name: "large", Selector: term(req("format", model.In, "large"))},
		// a group window for the Texas stores, overriding their hours
		&model.Group{Name: "tx-window", Geo: []string{"us/south/tx"}, Window: &model.GroupWindow{Days: []string{"tue", "wed"}, Start: "01:00", End: "05:00"}},
	)
	for k, name := range rings {
		f.Rings = append(f.Rings, &model.Ring{Name: name, Order: k, Selector: term(req("label.ring", model.In, name))})
	}
	f.Rings[len(f.Rings)-1].Signoff = []string{"ops"}
	for a := range nApps {
		id := fmt.Sprintf("app-%02d", a)
		switch a {
		case 0:
			id = "menu-boards"
		case 1:
			id = "drive-thru-vision"
		}
		app := &model.App{
			ID: id, Namespace: id, Version: fmt.Sprintf("1.%d.0", a),
			Source: model.AppSource{Helm: &model.HelmSource{Repository: "oci://charts.example.com", Chart: id}},
			Values: map[string]any{"image": map[string]any{"tag": fmt.Sprintf("1.%d.0", a)}, "replicas": json.Number("1"), "language": "en"},
			Overrides: []model.GroupOverride{
				{Group: "franchise", Values: map[string]any{"banner": "franchise"}},
			},
		}
		if a == 0 {
			// menu boards speak French in Quebec only for half the stores' formats
			app.Overrides = append(app.Overrides, model.GroupOverride{Group: "large", Values: map[string]any{"languages": []any{"fr", "en"}}})
		}
		if a%4 == 3 {
			app.Target = term(req("owner", model.In, "corporate"))
		}
		if a%3 == 0 {
			app.Versions = map[string]string{"canary": fmt.Sprintf("1.%d.1", a)}
		}
		f.Apps = append(f.Apps, app)
	}
	f.Freezes = []*model.Freeze{
		// in force at the benchmark clock for app-05 in every zone
		{Name: "menu-refresh", Local: true, Start: "2026-11-23T00:00", End: "2026-11-26T00:00", Apps: []string{"app-05"}, Signoff: []string{"ops"}},
		// ahead of the clock, fleet-wide
		{Name: "thanksgiving", Local: true, Start: "2026-11-26T00:00", End: "2026-11-27T00:00", Signoff: []string{"ops"}},
		// in force for the franchise stores
		{Name: "franchise-audit", Start: "2026-11-24T00:00:00Z", End: "2026-11-25T00:00:00Z", Stores: term(req("owner", model.In, "franchise")), Apps: []string{"app-06", "app-07"}},
	}
	f.Overrides = []*model.Override{
		{ID: "ovr-1", Kind: "freeze", Freeze: "menu-refresh", Stores: term(req("format", model.In, "large")), Apps: []string{"app-05"}, Reason: "fix", Ticket: "OPS-1"},
		{ID: "ovr-2", Kind: "window", Stores: term(req("format", model.In, "small")), Apps: []string{"app-08"}, Reason: "hotfix", Ticket: "OPS-2"},
	}
	f.Teams = []*model.Team{{Name: "ops", Members: []string{"dokafor"}}, {Name: "legal", Members: []string{"hweiss"}}}
	f.Index()
	return f
}

func term(rs ...model.Requirement) *model.Selector {
	return &model.Selector{Terms: []model.Term{{Match: rs}}}
}

func req(key string, op model.Operator, values ...string) model.Requirement {
	return model.Requirement{Key: key, Operator: op, Values: values}
}

// targetState is the state in which every store runs exactly its target.
func targetState(tr *target.Result) *deploy.State {
	st := deploy.NewState()
	for _, s := range tr.Stores {
		ss := &deploy.StoreState{Ring: s.Ring, Apps: make(map[string]string, len(s.Apps))}
		for _, a := range s.Apps {
			v := a.Variant
			ss.Apps[a.App.ID] = v.ID
			if _, ok := st.Variants[v.ID]; !ok {
				st.Variants[v.ID] = &deploy.Variant{App: v.App, Version: v.Version, Namespace: v.Namespace, Source: v.Source, DependsOn: v.DependsOn, Values: v.Values}
			}
		}
		st.Stores[s.Store.ID] = ss
	}
	return st
}

// bumpedState is targetState with app's variants at an older version: the
// next compile upgrades app on every store that runs it.
func bumpedState(tr *target.Result, app string) *deploy.State {
	st := targetState(tr)
	old := map[string]string{}
	for id, v := range st.Variants {
		if v.App != app {
			continue
		}
		ov := *v
		ov.Version = "0.9.0"
		oid := app + "@0.9.0-" + id[len(id)-10:]
		st.Variants[oid] = &ov
		old[id] = oid
	}
	for _, ss := range st.Stores {
		if id, ok := ss.Apps[app]; ok {
			ss.Apps[app] = old[id]
		}
	}
	return st
}
