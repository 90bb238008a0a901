package target

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

var synthRegions = []string{"us/northeast/ny/albany", "us/northeast/ma/boston", "us/midwest/il/chicago", "us/south/tx/austin", "us/west/ca/oakland", "ca/qc/montreal"}

// synthFleet builds a fleet shaped like production: ~30 jagged groups,
// five rings (exactly one per store, through a label, a group and
// selectors), apps with overrides, targets, ring pins and dependencies,
// and store values on one store in a hundred.
func synthFleet(nStores, nApps int) *model.Fleet {
	f := &model.Fleet{}
	formats := []string{"small", "standard", "large", "kiosk"}
	for i := range nStores {
		ring := "chain"
		switch {
		case i < 10:
			ring = "lab"
		case i%100 == 50:
			ring = "canary"
		case i%10 == 3:
			ring = "pilot"
		case i%10 == 7:
			ring = "early"
		}
		s := &model.Store{
			ID: fmt.Sprintf("s-%05d", i), Name: fmt.Sprintf("Store %d", i),
			Geo: synthRegions[i%len(synthRegions)], Timezone: "America/New_York",
			Jurisdiction: model.Jurisdiction{Country: "US", Region: "NY"},
			Attributes: model.Attributes{
				Owner: "corporate", Format: formats[i%4], DriveThruLanes: i % 4,
				Languages: []string{"en"},
				Labels:    map[string]string{"ring": ring},
			},
			Cluster: model.Cluster{Nodes: 1 + i%3},
		}
		if i%3 == 0 {
			s.Attributes.Owner, s.Attributes.Franchisee = "franchise", fmt.Sprintf("f-%02d", i%40)
		}
		if i%2 == 0 {
			s.Attributes.Devices = append(s.Attributes.Devices, "acme3000")
		}
		if i%5 == 0 {
			s.Attributes.Devices = append(s.Attributes.Devices, "acme3001")
		}
		if i%7 == 0 {
			s.Attributes.DeliveryPartners = []string{"doordash"}
		}
		if i%100 == 1 {
			s.Values = map[string]map[string]any{"app-00": {"ui": map[string]any{"banner": fmt.Sprintf("store %d", i)}}}
		}
		f.Stores = append(f.Stores, s)
	}
	for _, geo := range []string{"us/northeast", "us/midwest", "us/south", "us/west", "ca", "us/northeast/ny"} {
		f.Groups = append(f.Groups, &model.Group{Name: "geo-" + fmt.Sprint(len(f.Groups)), Geo: []string{geo}})
	}
	for k := range 10 {
		f.Groups = append(f.Groups, &model.Group{Name: fmt.Sprintf("franchisee-%d", k),
			Selector: term(rq("franchisee", model.In, fmt.Sprintf("f-%02d", k), fmt.Sprintf("f-%02d", k+10)))})
	}
	f.Groups = append(f.Groups,
		&model.Group{Name: "acme3000", Selector: term(rq("devices", model.In, "acme3000"))},
		&model.Group{Name: "acme3001", Selector: term(rq("devices", model.In, "acme3001"))},
		&model.Group{Name: "delivery", Selector: term(rq("deliveryPartners", model.Exists))},
		&model.Group{Name: "flagship", Selector: term(rq("owner", model.In, "corporate"), rq("format", model.In, "large"), rq("driveThruLanes", model.Gt, "1"))},
		&model.Group{Name: "pilot-stores", Selector: term(rq("label.ring", model.In, "pilot"))},
	)
	for k := range 8 {
		var ids []string
		for i := k; i < nStores; i += 97 {
			ids = append(ids, fmt.Sprintf("s-%05d", i))
		}
		f.Groups = append(f.Groups, &model.Group{Name: fmt.Sprintf("marketing-%d", k), Stores: ids})
	}
	f.Rings = []*model.Ring{
		{Name: "lab", Order: 0, Selector: term(rq("label.ring", model.In, "lab"))},
		{Name: "canary", Order: 1, Selector: term(rq("label.ring", model.In, "canary"))},
		{Name: "pilot", Order: 2, Groups: []string{"pilot-stores"}},
		{Name: "early", Order: 3, Selector: term(rq("label.ring", model.In, "early"))},
		{Name: "chain", Order: 4, Selector: term(rq("label.ring", model.NotIn, "lab", "canary", "early"), rq("group", model.NotIn, "pilot-stores"))},
	}
	for a := range nApps {
		app := &model.App{
			ID: fmt.Sprintf("app-%02d", a), Namespace: fmt.Sprintf("app-%02d", a), Version: fmt.Sprintf("1.%d.0", a),
			Source: model.AppSource{Helm: &model.HelmSource{Repository: "oci://charts.example.com", Chart: fmt.Sprintf("app-%02d", a)}},
			Values: map[string]any{
				"image":    map[string]any{"tag": fmt.Sprintf("1.%d.0", a)},
				"replicas": json.Number("1"),
				"ui":       map[string]any{"language": "en", "banner": "welcome"},
			},
			Overrides: []model.GroupOverride{
				{Group: "geo-0", Values: map[string]any{"ui": map[string]any{"language": "en-US"}}},
				{Group: "acme3000", Values: map[string]any{"grill": map[string]any{"model": "acme3000"}}},
				{Group: fmt.Sprintf("franchisee-%d", a%10), Values: map[string]any{"ui": map[string]any{"banner": "franchise"}}},
			},
		}
		switch a % 4 {
		case 1:
			app.Target = term(rq("devices", model.In, "acme3000", "acme3001"))
		case 2:
			app.Target = term(rq("owner", model.In, "corporate"))
		}
		if a%3 == 0 {
			app.Versions = map[string]string{"canary": fmt.Sprintf("1.%d.1", a)}
		}
		if a > 0 {
			app.DependsOn = []string{"app-00"}
		}
		f.Apps = append(f.Apps, app)
	}
	f.Index()
	return f
}

func BenchmarkResolve(b *testing.B) {
	f := synthFleet(60000, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, diags := Resolve(context.Background(), f, Options{})
		if diags.HasErrors() {
			b.Fatal(diags[:min(3, len(diags))])
		}
		b.ReportMetric(float64(len(res.Variants)), "variants")
	}
}
