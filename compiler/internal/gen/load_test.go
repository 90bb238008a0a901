package gen

import (
	"context"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// TestLoaderAccepts runs fleetc's own loader (cross-file checks included:
// duplicate ids, unknown references, timezones, dependency cycles) and
// target stage over the sample fleet and a generated one; neither may
// produce a finding, and target's rings must match this package's oracle.
func TestLoaderAccepts(t *testing.T) {
	gen := t.TempDir()
	if _, err := Generate(gen, Options{Stores: 400, Apps: 24, Groups: 45, Seed: 11, StoresPerFile: 150}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, root   string
		stores, apps int
	}{
		{"sample", "../../..", 49, 7},
		{"generated", gen, 400, 24},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fl, diags, err := load.Load(context.Background(), load.Options{Root: tc.root, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diags {
				t.Errorf("%v", d)
			}
			if len(fl.Stores) != tc.stores || len(fl.Apps) != tc.apps {
				t.Errorf("loaded %d stores and %d apps, want %d and %d", len(fl.Stores), len(fl.Apps), tc.stores, tc.apps)
			}

			// The target stage agrees with this package's ring oracle.
			res, diags := target.Resolve(context.Background(), fl, target.Options{Workers: 1})
			for _, d := range diags {
				t.Errorf("target: %v", d)
			}
			if res == nil {
				t.FailNow()
			}
			for id, rings := range ringOf(t, fl) {
				if len(rings) != 1 || res.StoreRing[id] != rings[0] {
					t.Errorf("store %s: target ring %q, oracle %v", id, res.StoreRing[id], rings)
				}
			}
			if len(res.StoreRing) != tc.stores {
				t.Errorf("target assigned %d stores to rings, want %d", len(res.StoreRing), tc.stores)
			}
		})
	}
}
