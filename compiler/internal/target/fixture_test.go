package target

import (
	"encoding/json"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func pos(file string, line int) diag.Pos { return diag.Pos{File: file, Line: line, Col: 1} }

func rq(k string, op model.Operator, vals ...string) model.Requirement {
	return model.Requirement{Key: k, Operator: op, Values: vals}
}

func term(rs ...model.Requirement) *model.Selector {
	return &model.Selector{Terms: []model.Term{{Match: rs}}}
}

func store(id, geo, owner, format string, lanes int, devices ...string) *model.Store {
	s := &model.Store{
		ID: id, Name: id, Geo: geo, Timezone: "America/New_York",
		Jurisdiction: model.Jurisdiction{Country: "US"},
		Attributes:   model.Attributes{Owner: owner, Format: format, DriveThruLanes: lanes, Devices: devices},
		Cluster:      model.Cluster{Nodes: 1},
		Pos:          pos("inventory/stores.cue", 0),
	}
	if owner == "franchise" {
		s.Attributes.Franchisee = "acme-foods"
	}
	return s
}

// testFleet is a small fleet that exercises every layer:
//
//	nyc-0001 northeast, flagship, acme        ring chain   store values for pos
//	nyc-0002 northeast, acme, spanish         ring chain
//	nyc-0003 northeast, acme                  ring chain
//	nyc-0004 northeast, acme, spanish         ring chain
//	bos-0001 northeast, flagship, acme        ring canary  (pos pinned 2.1.0)
//	chi-0001 (no groups)                      ring chain
//	lab-0001 lab-stores                       ring lab
func testFleet() *model.Fleet {
	stores := []*model.Store{
		store("nyc-0001", "us/northeast/ny/albany", "corporate", "large", 2, "acme3000"),
		store("nyc-0002", "us/northeast/ny/nyc", "franchise", "standard", 1, "acme3001"),
		store("nyc-0003", "us/northeast/ny/nyc", "franchise", "standard", 1, "acme3001"),
		store("nyc-0004", "us/northeast/ny/nyc", "franchise", "standard", 1, "acme3001"),
		store("bos-0001", "us/northeast/ma/boston", "corporate", "large", 3, "acme3001"),
		store("chi-0001", "us/midwest/il/chicago", "corporate", "standard", 0),
		store("lab-0001", "us/lab", "corporate", "kiosk", 0),
	}
	for i, s := range stores {
		s.Pos.Line = 10 * (i + 1)
	}
	stores[0].Values = map[string]map[string]any{"pos": {"ui": map[string]any{"theme": "dark"}}}
	f := &model.Fleet{
		Stores: stores,
		Groups: []*model.Group{
			{Name: "northeast", Geo: []string{"us/northeast"}, Pos: pos("inventory/groups.cue", 1)},
			{Name: "flagship", Selector: term(rq("owner", model.In, "corporate"), rq("format", model.In, "large")), Pos: pos("inventory/groups.cue", 2)},
			{Name: "acme", Selector: term(rq("devices", model.In, "acme3000", "acme3001")), Pos: pos("inventory/groups.cue", 3)},
			{Name: "spanish", Stores: []string{"nyc-0002", "nyc-0004"}, Pos: pos("inventory/groups.cue", 4)},
			{Name: "lab-stores", Stores: []string{"lab-0001"}, Pos: pos("inventory/groups.cue", 5)},
		},
		Rings: []*model.Ring{
			{Name: "lab", Order: 0, Groups: []string{"lab-stores"}, Pos: pos("rings/rings.cue", 1)},
			{Name: "canary", Order: 1, Stores: []string{"bos-0001"}, Pos: pos("rings/rings.cue", 2)},
			{Name: "chain", Order: 2, Selector: term(rq("group", model.NotIn, "lab-stores"), rq("id", model.NotIn, "bos-0001")), Pos: pos("rings/rings.cue", 3)},
		},
		Apps: []*model.App{
			{
				ID: "pos", Namespace: "pos", Version: "2.0.0", Versions: map[string]string{"canary": "2.1.0"},
				Source: model.AppSource{Helm: &model.HelmSource{Repository: "oci://charts.example.com", Chart: "pos"}},
				Values: map[string]any{
					"ui":       map[string]any{"language": "en", "theme": "light"},
					"features": []any{"a"},
					"timeout":  json.Number("30"),
				},
				Overrides: []model.GroupOverride{
					{Group: "northeast", Values: map[string]any{"ui": map[string]any{"language": "en-US"}, "features": []any{"b", "c"}}},
					{Group: "flagship", Values: map[string]any{"ui": map[string]any{"language": "en-GB"}, "timeout": json.Number("45")}},
				},
				Pos: pos("apps/pos.cue", 1),
			},
			{
				ID: "grill", Namespace: "grill", Version: "1.0.0",
				Source:    model.AppSource{Kustomize: &model.KustomizeSource{URL: "https://git.example.com/grill", Path: "./deploy"}},
				Target:    term(rq("devices", model.In, "acme3000", "acme3001")),
				DependsOn: []string{"pos"},
				Pos:       pos("apps/grill.cue", 1),
			},
			{
				ID: "loyalty", Namespace: "loyalty", Version: "0.3.0",
				Source:    model.AppSource{Helm: &model.HelmSource{Repository: "https://charts.example.com", Chart: "loyalty"}},
				Target:    term(rq("owner", model.In, "corporate")),
				DependsOn: []string{"pos", "grill"},
				Pos:       pos("apps/loyalty.cue", 1),
			},
		},
	}
	f.Index()
	return f
}
