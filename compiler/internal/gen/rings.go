package gen

import (
	"math/rand/v2"
	"strconv"
)

// The generated ring rule, which the tests evaluate in Go:
//
//	lab     (first)  stores: _lab                      explicit ids
//	canary           groups: ["ring-canary"]            a group of explicit ids
//	pilot, wave-N    selector label.wave In [<name>]    a label on the store
//	chain   (last)   selector id NotIn _lab, group NotIn [ring-canary],
//	                 label.wave DoesNotExist
//
// Each store gets at most one of: a place in _lab, a place in _canary, a
// wave label, so every store is in exactly one ring. With one ring, chain
// selects every store (id Exists).

// genRing is one ring and how its stores are chosen.
type genRing struct {
	name          string
	kind          string // lab, canary, wave, chain
	bake          string
	threshold     float64
	budget        int
	signoff       []string
	share         float64 // of all stores, for lab/canary/wave
	stores        int     // filled by assignRings
	minOne, cap10 bool
}

// makeRings names the rings for a count: lab, canary, pilot, wave-1…, chain.
func makeRings(n int) []*genRing {
	if n <= 1 {
		return []*genRing{{name: "chain", kind: "chain", bake: "72h", threshold: 0.98, budget: 3, signoff: []string{"ops"}}}
	}
	rings := []*genRing{{name: "lab", kind: "lab", bake: "4h", threshold: 1, share: 1.0 / 5000, minOne: true, cap10: true}}
	if n >= 3 {
		rings = append(rings, &genRing{name: "canary", kind: "canary", bake: "24h", threshold: 1, share: 0.01, minOne: true})
	}
	if n >= 4 {
		rings = append(rings, &genRing{name: "pilot", kind: "wave", bake: "48h", threshold: 0.95, budget: 1, share: 0.05,
			signoff: []string{"franchise-relations"}})
	}
	waves := n - len(rings) - 1
	for i := 1; i <= waves; i++ {
		rings = append(rings, &genRing{name: "wave-" + strconv.Itoa(i), kind: "wave", bake: "48h", threshold: 0.97,
			budget: 2, share: min(0.15, 0.6/float64(waves))})
	}
	rings = append(rings, &genRing{name: "chain", kind: "chain", bake: "72h", threshold: 0.98, budget: 3, signoff: []string{"ops"}})
	return rings
}

// assignRings walks the stores in a random order and fills each ring's
// share; the rest go to the last ring (chain).
func assignRings(rng *rand.Rand, rings []*genRing, stores []*genStore) {
	perm := rng.Perm(len(stores))
	next := 0
	last := len(rings) - 1
	for ri, r := range rings[:last] {
		k := int(r.share * float64(len(stores)))
		if r.minOne {
			k = max(k, 1)
		}
		if r.cap10 {
			k = min(k, 10)
		}
		k = min(k, len(stores)-next)
		for _, si := range perm[next : next+k] {
			s := stores[si]
			s.ring = ri
			if r.kind == "wave" {
				s.wave = r.name
			}
		}
		r.stores = k
		next += k
	}
	for _, si := range perm[next:] {
		stores[si].ring = last
	}
	rings[last].stores = len(stores) - next
}

// ringFile writes rings/rings.cue.
func (w *cueWriter) ringFile(rings []*genRing, stores []*genStore) {
	var lab, canary []string
	for _, s := range stores {
		switch rings[s.ring].kind {
		case "lab":
			lab = append(lab, s.id)
		case "canary":
			canary = append(canary, s.id)
		}
	}
	hasLab, hasCanary := rings[0].kind == "lab", len(rings) > 2
	if hasLab {
		w.WriteString("_lab: ")
		w.longList(0, lab)
		w.WriteString("\n\n")
	}
	if hasCanary {
		w.WriteString("_canary: ")
		w.longList(0, canary)
		w.WriteString("\n\n")
		w.WriteString("groups: \"ring-canary\": {\n")
		w.fields(1, obj{{"kind", "ring"}, {"stores", ref("_canary")}})
		w.WriteString("}\n\n")
	}
	w.WriteString("rings: {\n")
	for i, r := range rings {
		w.indent(1)
		w.label(r.name)
		w.WriteString(": {\n")
		o := obj{{"order", i}}
		switch r.kind {
		case "lab":
			o = append(o, field{"stores", ref("_lab")})
		case "canary":
			o = append(o, field{"groups", []string{"ring-canary"}})
		default:
			o = append(o, field{"selector", ringSelector(r, hasLab, hasCanary)})
		}
		o = append(o,
			field{"bakeTime", r.bake},
			field{"successThreshold", r.threshold},
			field{"failureBudget", r.budget},
		)
		w.fields(2, o)
		if r.signoff != nil {
			w.fields(2, obj{{"signoff", r.signoff}})
		}
		w.indent(1)
		w.WriteString("}\n")
	}
	w.WriteString("}\n")
}

func ringSelector(r *genRing, hasLab, hasCanary bool) selector {
	if r.kind == "wave" {
		return one("label.wave", "In", r.name)
	}
	var t []req
	if hasLab {
		t = append(t, req{key: "id", op: "NotIn", valuesRef: "_lab"})
	}
	if hasCanary {
		t = append(t, req{key: "group", op: "NotIn", values: []string{"ring-canary"}})
	}
	t = append(t, req{key: "label.wave", op: "DoesNotExist"})
	if !hasLab && !hasCanary {
		t = []req{{key: "id", op: "Exists"}}
	}
	return selector{t}
}

// calendarFile writes rings/calendar.cue: the freeze, an override, teams.
func (w *cueWriter) calendarFile(firstApp string) {
	w.WriteString("freezes: \"thanksgiving-2026\": {\n")
	w.fields(1, obj{
		{"description", "Peak trading: Thanksgiving Day through Cyber Monday"},
		{"local", true},
		{"start", "2026-11-26T00:00"},
		{"end", "2026-12-01T00:00"},
		{"signoff", []string{"ops"}},
	})
	w.WriteString("}\n\n")
	if firstApp != "" {
		w.WriteString("overrides: \"" + firstApp + "-peak-fix\": {\n")
		w.fields(1, obj{
			{"kind", "freeze"},
			{"freeze", "thanksgiving-2026"},
			{"apps", []string{firstApp}},
			{"reason", "Fix for a defect found during peak trading"},
			{"ticket", "OPS-1001"},
		})
		w.WriteString("}\n\n")
	}
	w.WriteString("teams: {\n")
	for _, t := range []struct {
		name    string
		members []string
		owns    []string
	}{
		{"platform", []string{"platform-bot", "mkowalski", "jtanaka"}, []string{"schemas/", "inventory/", "rings/rings.cue", "fleet.cue"}},
		{"ops", []string{"dokafor", "lnguyen"}, []string{"rings/calendar.cue"}},
		{"legal", []string{"hweiss"}, []string{"policies/"}},
		{"franchise-relations", []string{"tmorales", "egagnon"}, []string{"inventory/groups/franchisee.cue"}},
	} {
		w.indent(1)
		w.label(t.name)
		w.WriteString(": {\n")
		w.fields(2, obj{{"members", t.members}, {"owns", t.owns}})
		w.indent(1)
		w.WriteString("}\n")
	}
	w.WriteString("}\n")
}
