package guard

import (
	"fmt"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// BenchmarkCheckMass: the guard over 60,000 stores × 20 apps with nothing
// removed, the common compile (docs/perf.md, "Guards").
func BenchmarkCheckMass(b *testing.B) {
	const stores, apps = 60000, 20
	f := &model.Fleet{Settings: settings()}
	prev, desired := deploy.NewState(), deploy.NewState()
	tr := &target.Result{}
	// Stores share a profile's apps map, as a state read from disk does.
	shared := map[string]string{}
	for a := range apps {
		shared[fmt.Sprintf("app-%02d", a)] = fmt.Sprintf("app-%02d@1.0.0-a", a)
	}
	for i := range stores {
		id := fmt.Sprintf("s-%05d", i)
		s := &model.Store{ID: id}
		f.Stores = append(f.Stores, s)
		tr.Stores = append(tr.Stores, target.StoreTarget{Store: s, Ring: "main"})
		prev.Stores[id] = &deploy.StoreState{Ring: "main", Apps: shared}
		own := make(map[string]string, apps)
		for k, v := range shared {
			own[k] = v
		}
		desired.Stores[id] = &deploy.StoreState{Ring: "main", Apps: own}
	}
	f.Index()
	in := MassInput{Fleet: f, Targets: tr, Previous: prev, Desired: desired}
	b.ResetTimer()
	for range b.N {
		if m, _ := CheckMass(in); m.Tripped {
			b.Fatal("tripped")
		}
	}
}
