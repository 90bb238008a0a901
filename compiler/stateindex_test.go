package compiler

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// stateFixture has two profiles in ring chain, one in wave-1, a store
// running a variant under another app's key, and values with a number.
const stateFixture = `{"schema":2,
"variants":{
"pos@1.0.0-aaaaaaaaaa":{"app":"pos","version":"1.0.0","namespace":"pos","source":{"helm":{"repository":"https://c","chart":"pos"}},"values":{"n":1.50,"s":"x"}},
"pos@2.0.0-bbbbbbbbbb":{"app":"pos","version":"2.0.0","namespace":"pos","source":{"helm":{"repository":"https://c","chart":"pos"}}},
"kds@3.0.0-cccccccccc":{"app":"kds","version":"3.0.0","namespace":"kds","source":{"helm":{"repository":"https://c","chart":"kds"}},"dependsOn":[]}
},
"profiles":{
"chain-1":{"ring":"chain","apps":{"pos":"pos@1.0.0-aaaaaaaaaa","kds":"kds@3.0.0-cccccccccc"}},
"chain-2":{"ring":"chain","apps":{"pos":"pos@2.0.0-bbbbbbbbbb","alias":"kds@3.0.0-cccccccccc"}},
"wave-1":{"ring":"wave-1","apps":{}}
},
"stores":{
"s1":"chain-1","s2":"chain-2","s3":"wave-1","s4":"chain-1"
}}
`

func fixtureIndex(t *testing.T) (*prevIndex, *deploy.State) {
	t.Helper()
	st, err := deploy.ParseState([]byte(stateFixture))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rawVariants([]byte(stateFixture))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := newPrevIndex(st, raw)
	if err != nil {
		t.Fatal(err)
	}
	return ix, st
}

func TestPrevIndexState(t *testing.T) {
	ix, full := fixtureIndex(t)
	dec, err := decodePrevIndex(ix.encode())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2", "s3", "s4", "nope"} {
		got, err := dec.state(id)
		if err != nil {
			t.Fatal(err)
		}
		want := deploy.NewState()
		if ss := full.Stores[id]; ss != nil {
			want.Stores[id] = &deploy.StoreState{Ring: ss.Ring, Apps: ss.Apps}
			for _, vid := range ss.Apps {
				want.Variants[vid] = full.Variants[vid]
			}
		}
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			t.Errorf("%s:\n got %s\nwant %s", id, gb, wb)
		}
	}
	// json.Number and an empty, non-nil dependsOn survive as ParseState
	// decodes them.
	got, _ := dec.state("s1")
	if n := got.Variants["pos@1.0.0-aaaaaaaaaa"].Values["n"]; n != json.Number("1.50") {
		t.Errorf("number value %#v", n)
	}
	if d := got.Variants["kds@3.0.0-cccccccccc"].DependsOn; d == nil || len(d) != 0 {
		t.Errorf("dependsOn %#v", d)
	}
}

func TestPrevIndexHistory(t *testing.T) {
	ix, _ := fixtureIndex(t)
	us := model.Jurisdiction{Country: "US", Region: "IL"}
	h := ix.history("chain", us, []string{"s2", "s3", "not-in-state"})
	// Compared through the gate's own lookup of the same facts.
	want := map[[3]string]bool{
		{"chain", "pos", "1.0.0"}: true, {"chain", "pos", "2.0.0"}: true, {"chain", "kds", "3.0.0"}: true,
		{"chain", "alias", "3.0.0"}: true, {"wave-1", "pos", "1.0.0"}: false, {"chain", "pos", "3.0.0"}: false,
	}
	for k, w := range want {
		g := gateHistoryRing(h, k[0], k[1], k[2])
		if g != w {
			t.Errorf("ring %v: %v, want %v", k, g, w)
		}
	}
	for app, w := range map[string]bool{"pos": true, "alias": true, "kds": false} {
		if g := gateHistoryJuris(h, us, app); g != w {
			t.Errorf("jurisdiction app %s: %v, want %v", app, g, w)
		}
	}
}

func TestPrevIndexCorrupt(t *testing.T) {
	ix, _ := fixtureIndex(t)
	enc := ix.encode()
	for name, b := range map[string][]byte{
		"truncated": enc[:len(enc)-1],
		"trailing":  append(append([]byte{}, enc...), 0),
		"empty":     nil,
	} {
		if _, err := decodePrevIndex(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	dir := t.TempDir()
	key := sha256.Sum256([]byte(stateFixture))
	if err := writePrevIndex(dir, key, ix); err != nil {
		t.Fatal(err)
	}
	if _, ok := readPrevIndex(dir, key); !ok {
		t.Fatal("written index not read back")
	}
	if _, ok := readPrevIndex(dir, sha256.Sum256([]byte("other"))); ok {
		t.Fatal("index read under another key")
	}
}

func FuzzDecodePrevIndex(f *testing.F) {
	st, _ := deploy.ParseState([]byte(stateFixture))
	raw, _ := rawVariants([]byte(stateFixture))
	ix, _ := newPrevIndex(st, raw)
	f.Add(ix.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := decodePrevIndex(b)
		if err != nil {
			return
		}
		for i := range ix.stores.len() {
			if _, err := ix.state(ix.stores.id(i)); err != nil {
				return // a variant's JSON may be anything
			}
		}
		ix.history("chain", model.Jurisdiction{Country: "US"}, []string{"s1"})
	})
}

func gateHistoryRing(h *gate.History, ring, app, version string) bool {
	return h.For(ring, model.Jurisdiction{}, app, version).RingHasVersion
}

func gateHistoryJuris(h *gate.History, j model.Jurisdiction, app string) bool {
	return h.For("", j, app, "").JurisdictionHasApp
}
