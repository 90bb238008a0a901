package publish_test

import (
	"fmt"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/publish"
)

// A report diffs the base branch's state with the compiled one and groups
// the compile's decisions; its subject titles the merge request.
func ExampleReport_Subject() {
	state := func(version string) *deploy.State {
		s := deploy.NewState()
		id := "pos@" + version + "-0123456789"
		s.Variants[id] = &deploy.Variant{App: "pos", Version: version}
		for _, store := range []string{"us-az-phoenix-0301", "us-az-phoenix-0302"} {
			s.Stores[store] = &deploy.StoreState{Ring: "chain", Apps: map[string]string{"pos": id}}
		}
		return s
	}
	decisions := []gate.Decision{{Store: "us-il-chicago-0102", App: "drive-thru-vision", Verdict: policy.Deny}}
	r := publish.NewReport(state("5.11.3"), state("5.12.0"), decisions, nil)
	fmt.Println(r.Subject())
	// Output: fleetc: pos 5.12.0 → chain (2 stores), 1 denied
}
