package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// fleetInputs builds stores × apps inputs shaped like the sample fleet:
// a few zones, jurisdictions, hours classes, rings and value variants.
func fleetInputs(b *testing.B, stores, apps int, now time.Time) []Input {
	b.Helper()
	zones := []struct{ zone, country, region string }{
		{"America/New_York", "US", "NY"}, {"America/New_York", "US", "MA"},
		{"America/Chicago", "US", "IL"}, {"America/Chicago", "US", "TX"},
		{"America/Denver", "US", "CO"}, {"America/Phoenix", "US", "AZ"},
		{"America/Los_Angeles", "US", "CA"}, {"America/Toronto", "CA", "QC"},
	}
	hours := []map[string]model.DayHours{everyDay("06:00", "22:00"), everyDay("10:00", "02:00"), everyDay("05:00", "23:00")}
	rings := []*model.Ring{{Name: "lab", Order: 0}, {Name: "canary", Order: 1}, {Name: "pilot", Order: 2}, {Name: "chain", Order: 3, Signoff: []string{"release-managers"}}}
	thanksgiving := &model.Freeze{Name: "thanksgiving", Local: true, Start: "2026-11-26T00:00", End: "2026-11-27T00:00", Signoff: []string{"ops-leads"}}
	appList := make([]*model.App, apps)
	values := make([][2]map[string]any, apps)
	for a := range appList {
		id := fmt.Sprintf("app-%02d", a)
		if a == 0 {
			id = "menu-boards"
		}
		if a == 1 {
			id = "drive-thru-vision"
		}
		appList[a] = &model.App{ID: id, Namespace: id}
		values[a] = [2]map[string]any{
			{"language": "en", "replicas": 1, "image": map[string]any{"tag": "1.0.0"}},
			{"language": "fr", "languages": []any{"fr", "en"}, "replicas": 1, "image": map[string]any{"tag": "1.0.0"}},
		}
	}
	out := make([]Input, 0, stores*apps)
	for i := range stores {
		z := zones[i%len(zones)]
		s := store(fmt.Sprintf("s-%05d", i), z.zone, z.country, z.region, hours[i%len(hours)])
		w, err := calendar.StoreWindow(s, nil, windowDefaults, now)
		if err != nil {
			b.Fatal(err)
		}
		loc, _ := time.LoadLocation(s.Timezone)
		active, start, end, err := calendar.FreezeActive(thanksgiving, loc, now)
		if err != nil {
			b.Fatal(err)
		}
		sf := NewStoreFacts(s, []string{"all", "region-" + z.region})
		ring := rings[i%len(rings)]
		for a, app := range appList {
			v := values[a][0]
			if z.region == "QC" {
				v = values[a][1]
			}
			ch := Change{From: "1.0.0", To: "1.0.0", Kind: None}
			if a%4 == 0 {
				ch = Change{From: "1.0.0", To: "1.1.0", Kind: Upgrade}
			}
			out = append(out, Input{
				Store: sf, App: app, Ring: ring, Change: ch, Values: v, Window: w,
				Freezes: []Freeze{{Freeze: thanksgiving, Active: active, Start: start, End: end}},
				History: History{RingHasVersion: a%8 != 0, JurisdictionHasApp: true},
			})
		}
	}
	return out
}

// BenchmarkDecide runs the default bundle over 60,000 stores × 20 apps
// (run with -benchtime=1x) and, for comparison, a 10,000-input sample
// without the memo.
func BenchmarkDecide(b *testing.B) {
	now := utc("2026-11-25T20:00:00Z")
	e, diags, err := Load(context.Background(), Options{})
	if err != nil || diags.HasErrors() {
		b.Fatal(err, diags)
	}
	inputs := fleetInputs(b, benchStores, 20, now)
	opts := EvalOptions{Now: now, Approvals: ApprovalSet{Teams: []string{"ops-leads"}}}
	b.ResetTimer()
	for range b.N {
		before := e.Evaluations()
		start := time.Now()
		ds, err := e.Decide(context.Background(), inputs, opts)
		if err != nil {
			b.Fatal(err)
		}
		memo := time.Since(start)
		evals := e.Evaluations() - before
		counts := map[Verdict]int{}
		for _, d := range ds {
			counts[d.Verdict]++
		}

		sample := inputs[:10000]
		before = e.Evaluations()
		start = time.Now()
		noMemo := opts
		noMemo.NoMemo = true
		if _, err := e.Decide(context.Background(), sample, noMemo); err != nil {
			b.Fatal(err)
		}
		plain := time.Since(start)
		b.Logf("%d inputs: %d evaluations, %v with memo; verdicts %v", len(inputs), evals, memo, counts)
		b.Logf("%d-input sample without memo: %d evaluations, %v (%.1f µs each; ≈ %v for all inputs)",
			len(sample), e.Evaluations()-before, plain, float64(plain.Microseconds())/float64(len(sample)),
			time.Duration(float64(plain)*float64(len(inputs))/float64(len(sample))).Round(time.Second))
		b.ReportMetric(float64(evals), "evals")
	}
}

var benchStores = 60000
