package selector_test

import (
	"fmt"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/selector"
)

func Example() {
	// Company-owned large stores in the northeast with a multi-lane
	// drive-thru and an acme3000 or acme3001 grill: one term.
	sel := &model.Selector{Terms: []model.Term{{Match: []model.Requirement{
		{Key: "owner", Operator: model.In, Values: []string{"corporate"}},
		{Key: "format", Operator: model.In, Values: []string{"large"}},
		{Key: "geo", Operator: model.In, Values: []string{"us/northeast"}},
		{Key: "driveThruLanes", Operator: model.Gt, Values: []string{"1"}},
		{Key: "devices", Operator: model.In, Values: []string{"acme3000", "acme3001"}},
	}}}}
	m, err := selector.Compile(sel)
	if err != nil {
		panic(err)
	}
	store := &model.Store{
		ID: "alb-0001", Geo: "us/northeast/ny/albany",
		Attributes: model.Attributes{Owner: "corporate", Format: "large", DriveThruLanes: 1, Devices: []string{"acme3000"}},
	}
	facts := selector.NewFacts(store, nil)
	fmt.Println(m.Matches(facts))
	fmt.Println(m.Explain(facts))
	// Output:
	// false
	// not matched
	//   term 1: not matched
	//     owner In [corporate]: matched (owner has [corporate]; corporate is in [corporate])
	//     format In [large]: matched (format has [large]; large is in [large])
	//     geo In [us/northeast]: matched (geo is us/northeast/ny/albany; us/northeast is in [us/northeast])
	//     driveThruLanes Gt [1]: not matched (driveThruLanes has [1]; 1 is not > 1)
	//     devices In [acme3000 acme3001]: matched (devices has [acme3000]; acme3000 is in [acme3000 acme3001])
}

func ExampleCheck() {
	sel := &model.Selector{Terms: []model.Term{{Match: []model.Requirement{
		{Key: "devises", Operator: model.In, Values: []string{"acme3000"}},
		{Key: "nodes", Operator: model.Gt, Values: []string{"two"}},
	}}}}
	for _, p := range selector.Check(sel) {
		fmt.Println(p)
	}
	// Output:
	// terms[0].match[0].key: unknown key "devises"; did you mean "devices"?
	// terms[0].match[1].values[0]: Gt needs an integer, got "two"
}
