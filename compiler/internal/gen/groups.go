package gen

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// req is one selector requirement; valuesRef, when set, names a hidden
// list in the same file instead of literal values.
type req struct {
	key, op   string
	values    []string
	valuesRef string
}

// selector: terms ORed, requirements in a term ANDed.
type selector [][]req

func one(key, op string, values ...string) selector {
	return selector{{{key: key, op: op, values: values}}}
}

// cue renders a selector as a one-line-per-term CUE value.
func (w *cueWriter) selector(depth int, sel selector) {
	w.WriteString("terms: [")
	if len(sel) == 1 {
		w.term(sel[0])
		w.WriteByte(']')
		return
	}
	w.WriteByte('\n')
	for _, t := range sel {
		w.indent(depth + 1)
		w.term(t)
		w.WriteString(",\n")
	}
	w.indent(depth)
	w.WriteByte(']')
}

func (w *cueWriter) term(t []req) {
	w.WriteString("{match: [")
	for i, r := range t {
		if i > 0 {
			w.WriteString(", ")
		}
		w.WriteString(`{key: `)
		w.quote(r.key)
		w.WriteString(`, operator: `)
		w.quote(r.op)
		switch {
		case r.valuesRef != "":
			w.WriteString(", values: ")
			w.WriteString(r.valuesRef)
		case r.values != nil:
			w.WriteString(", values: ")
			w.list(r.values)
		}
		w.WriteByte('}')
	}
	w.WriteString("]}")
}

// genGroup is one business group.
type genGroup struct {
	name, kind, description string
	stores                  []string
	geo                     []string
	sel                     selector
	window                  inline
}

// groupKinds orders the group files and the round-robin below.
var groupKinds = []string{"geography", "franchisee", "devices", "delivery", "planogram", "marketing"}

// makeGroups builds n business groups, taking one of each kind in turn so
// a small n still has every kind, then adds marketing promotions.
func makeGroups(rng *rand.Rand, n int, stores []*genStore) []*genGroup {
	byKind := map[string][]*genGroup{}
	add := func(g *genGroup) { byKind[g.kind] = append(byKind[g.kind], g) }

	// Geography: every area present, then a few states and Canada.
	seenArea := map[string]bool{}
	for _, m := range metros {
		if seenArea[m.geoArea] {
			continue
		}
		seenArea[m.geoArea] = true
		prefix := "us/" + m.geoArea
		if m.country != "US" {
			prefix = "ca/" + m.geoArea
		}
		add(&genGroup{name: m.geoArea, kind: "geography", geo: []string{prefix}})
	}
	add(&genGroup{name: "illinois", kind: "geography", geo: []string{"us/midwest/il"}, description: "BIPA: no biometric capture"})
	add(&genGroup{name: "canada", kind: "geography", sel: one("country", "In", "CA")})
	add(&genGroup{name: "texas", kind: "geography", geo: []string{"us/south/tx"}})
	add(&genGroup{name: "california", kind: "geography", geo: []string{"us/west/ca"}})
	add(&genGroup{name: "mountain", kind: "geography", geo: []string{"us/west/az", "us/west/co", "us/west/ut"}})

	add(&genGroup{name: "franchise", kind: "franchisee", sel: one("owner", "In", "franchise")})
	for _, f := range franchisees {
		add(&genGroup{name: "franchise-" + f.id, kind: "franchisee", description: f.name, sel: one("franchisee", "In", f.id)})
	}
	add(&genGroup{name: "corporate", kind: "franchisee", sel: one("owner", "In", "corporate")})

	add(&genGroup{name: "acme-grills", kind: "devices", sel: one("devices", "In", "acme3000", "acme3001")})
	add(&genGroup{name: "acme3001-grills", kind: "devices", sel: one("devices", "In", "acme3001")})
	add(&genGroup{name: "drive-thru-cameras", kind: "devices", sel: selector{{
		{key: "devices", op: "In", values: []string{"dtcam"}},
		{key: "driveThruLanes", op: "Gt", values: []string{"0"}},
	}}})
	add(&genGroup{name: "acme3000-grills", kind: "devices", sel: one("devices", "In", "acme3000")})
	add(&genGroup{name: "northeast-flagship-drive-thru", kind: "devices", sel: selector{{
		{key: "owner", op: "In", values: []string{"corporate"}},
		{key: "format", op: "In", values: []string{"large"}},
		{key: "geo", op: "In", values: []string{"us/northeast"}},
		{key: "driveThruLanes", op: "Gt", values: []string{"1"}},
		{key: "devices", op: "In", values: []string{"acme3000", "acme3001"}},
	}}})

	for _, p := range []string{"doordash", "ubereats", "skipthedishes", "grubhub"} {
		add(&genGroup{name: p, kind: "delivery", sel: one("deliveryPartners", "In", p)})
	}
	add(&genGroup{name: "no-delivery", kind: "delivery", sel: one("deliveryPartners", "DoesNotExist")})

	add(&genGroup{name: "planogram-double-drive-thru", kind: "planogram", sel: one("driveThruLanes", "Gt", "1")})
	add(&genGroup{name: "planogram-compact", kind: "planogram", sel: one("format", "In", "small", "kiosk")})
	add(&genGroup{name: "mall-kiosks", kind: "planogram",
		sel: selector{{{key: "format", op: "In", values: []string{"kiosk"}}, {key: "label.mall", op: "Exists"}}},
		window: inline{
			{"days", []string{"mon", "tue", "wed", "thu"}},
			{"start", "02:00"},
			{"end", "04:30"},
		}})

	add(&genGroup{name: "summer-bbq-2026", kind: "marketing", geo: []string{"us/south"}, stores: sample(rng, stores, 3)})
	add(&genGroup{name: "breakfast-all-day", kind: "marketing", sel: selector{
		{{key: "geo", op: "In", values: []string{"us/west"}}, {key: "format", op: "In", values: []string{"standard", "large"}}},
		{{key: "label.mall", op: "Exists"}},
	}})
	add(&genGroup{name: "late-night-menu", kind: "marketing", stores: sample(rng, stores, max(1, len(stores)/100))})

	var out []*genGroup
	for round := 0; len(out) < n; round++ {
		took := false
		for _, k := range groupKinds {
			if gs := byKind[k]; round < len(gs) && len(out) < n {
				out = append(out, gs[round])
				took = true
			}
		}
		if !took {
			break
		}
	}
	for i := 1; len(out) < n; i++ {
		out = append(out, promotion(rng, i, stores))
	}
	return out
}

// promotion is a jagged marketing group: one metro by geography, a
// format in one area by selector, and hand-picked stores anywhere.
func promotion(rng *rand.Rand, i int, stores []*genStore) *genGroup {
	m := &metros[rng.IntN(len(metros))]
	area := metros[rng.IntN(len(metros))]
	num := strconv.Itoa(i)
	for len(num) < 3 {
		num = "0" + num
	}
	return &genGroup{
		name:   "promo-" + num,
		kind:   "marketing",
		geo:    []string{m.geoPrefix() + "/" + m.slug},
		stores: sample(rng, stores, min(50, max(1, len(stores)/500))),
		sel: selector{{
			{key: "format", op: "In", values: []string{formats[rng.IntN(len(formats))].name}},
			{key: "geo", op: "In", values: []string{area.geoPrefix()}},
		}},
	}
}

// sample picks k distinct store ids, sorted.
func sample(rng *rand.Rand, stores []*genStore, k int) []string {
	k = min(k, len(stores))
	seen := make(map[int]bool, k)
	ids := make([]string, 0, k)
	for len(ids) < k {
		i := rng.IntN(len(stores))
		if !seen[i] {
			seen[i] = true
			ids = append(ids, stores[i].id)
		}
	}
	slices.Sort(ids)
	return ids
}

// writeGroups writes the groups of one kind as a fleet file body.
func (w *cueWriter) groups(gs []*genGroup) {
	w.WriteString("groups: {\n")
	for _, g := range gs {
		w.indent(1)
		w.label(g.name)
		w.WriteString(": {\n")
		o := obj{{"kind", g.kind}}
		if g.description != "" {
			o = append(o, field{"description", g.description})
		}
		if g.geo != nil {
			o = append(o, field{"geo", g.geo})
		}
		if g.stores != nil {
			o = append(o, field{"stores", longList(g.stores)})
		}
		if g.sel != nil {
			o = append(o, field{"selector", g.sel})
		}
		if g.window != nil {
			o = append(o, field{"window", obj(g.window)})
		}
		w.fields(2, o)
		w.indent(1)
		w.WriteString("}\n")
	}
	w.WriteString("}\n")
}
