package selector

import (
	"errors"
	"slices"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

func albany() *model.Store {
	return &model.Store{
		ID: "nyc-0001", Name: "Albany Central", Geo: "us/northeast/ny/albany",
		Timezone:     "America/New_York",
		Jurisdiction: model.Jurisdiction{Country: "US", Region: "NY", City: "Albany"},
		Attributes: model.Attributes{
			Owner: "corporate", Format: "large", DriveThruLanes: 2,
			Devices:          []string{"camera", "acme3000"},
			DeliveryPartners: []string{"doordash"},
			Languages:        []string{"en", "es"},
			Labels:           map[string]string{"pilot": "true", "size": "42", "blank": ""},
		},
		Cluster: model.Cluster{Nodes: 3},
	}
}

func rq(k string, op model.Operator, vals ...string) model.Requirement {
	return model.Requirement{Key: k, Operator: op, Values: vals}
}

func sel(terms ...[]model.Requirement) *model.Selector {
	s := &model.Selector{}
	for _, t := range terms {
		s.Terms = append(s.Terms, model.Term{Match: t})
	}
	return s
}

func one(rs ...model.Requirement) *model.Selector { return sel(rs) }

func TestRequirements(t *testing.T) {
	facts := NewFacts(albany(), []string{"pilot-stores", "northeast"})
	tests := []struct {
		name   string
		r      model.Requirement
		want   bool
		reason string
	}{
		{"id In", rq("id", model.In, "nyc-0001", "nyc-0002"), true, "id has [nyc-0001]; nyc-0001 is in [nyc-0001 nyc-0002]"},
		{"id NotIn", rq("id", model.NotIn, "nyc-0001"), false, "id has [nyc-0001]; nyc-0001 is in [nyc-0001]"},
		{"name In", rq("name", model.In, "Albany Central"), true, "name has [Albany Central]; Albany Central is in [Albany Central]"},
		{"geo In prefix", rq("geo", model.In, "us/northeast"), true, "geo is us/northeast/ny/albany; us/northeast is in [us/northeast]"},
		{"geo In full path", rq("geo", model.In, "us/northeast/ny/albany"), true, ""},
		{"geo In partial segment", rq("geo", model.In, "us/north"), false, "geo is us/northeast/ny/albany; none of [us/north]"},
		{"geo NotIn other region", rq("geo", model.NotIn, "us/west", "ca"), true, "geo is us/northeast/ny/albany; none of [ca us/west]"},
		{"geo Exists", rq("geo", model.Exists), true, "geo is us/northeast/ny/albany"},
		{"country In", rq("country", model.In, "US"), true, ""},
		{"country In is case sensitive", rq("country", model.In, "us"), false, ""},
		{"region NotIn", rq("region", model.NotIn, "IL"), true, "region has [NY]; none of [IL]"},
		{"city In", rq("city", model.In, "Albany"), true, ""},
		{"timezone In", rq("timezone", model.In, "America/New_York"), true, ""},
		{"owner In", rq("owner", model.In, "corporate"), true, ""},
		{"owner NotIn", rq("owner", model.NotIn, "corporate"), false, ""},
		{"franchisee absent In", rq("franchisee", model.In, "acme-foods"), false, "franchisee has no value; none of [acme-foods]"},
		{"franchisee absent NotIn", rq("franchisee", model.NotIn, "acme-foods"), true, "franchisee has no value; none of [acme-foods]"},
		{"franchisee DoesNotExist", rq("franchisee", model.DoesNotExist), true, "franchisee has no value"},
		{"franchisee Exists", rq("franchisee", model.Exists), false, "franchisee has no value"},
		{"format In", rq("format", model.In, "large", "standard"), true, ""},
		{"driveThruLanes Gt 1", rq("driveThruLanes", model.Gt, "1"), true, "driveThruLanes has [2]; 2 > 1"},
		{"driveThruLanes Gt 2", rq("driveThruLanes", model.Gt, "2"), false, "driveThruLanes has [2]; 2 is not > 2"},
		{"driveThruLanes Lt 3", rq("driveThruLanes", model.Lt, "3"), true, "driveThruLanes has [2]; 2 < 3"},
		{"driveThruLanes In", rq("driveThruLanes", model.In, "2"), true, ""},
		{"driveThruLanes Exists", rq("driveThruLanes", model.Exists), true, ""},
		{"nodes Lt", rq("nodes", model.Lt, "3"), false, "nodes has [3]; 3 is not < 3"},
		{"nodes Gt negative", rq("nodes", model.Gt, "-1"), true, ""},
		{"devices In one of", rq("devices", model.In, "acme3000", "acme3001"), true, "devices has [acme3000 camera]; acme3000 is in [acme3000 acme3001]"},
		{"devices In none", rq("devices", model.In, "acme3001"), false, "devices has [acme3000 camera]; none of [acme3001]"},
		{"devices NotIn", rq("devices", model.NotIn, "acme3001"), true, "devices has [acme3000 camera]; none of [acme3001]"},
		{"devices NotIn listed", rq("devices", model.NotIn, "camera"), false, ""},
		{"devices Gt multi-valued", rq("devices", model.Gt, "0"), false, "devices has [acme3000 camera]; not a single integer"},
		{"deliveryPartners In", rq("deliveryPartners", model.In, "doordash"), true, ""},
		{"deliveryPartners DoesNotExist", rq("deliveryPartners", model.DoesNotExist), false, "deliveryPartners has [doordash]"},
		{"languages In", rq("languages", model.In, "es"), true, ""},
		{"group In", rq("group", model.In, "pilot-stores"), true, "group has [northeast pilot-stores]; pilot-stores is in [pilot-stores]"},
		{"group NotIn", rq("group", model.NotIn, "lab"), true, ""},
		{"label In", rq("label.pilot", model.In, "true"), true, "label.pilot has [true]; true is in [true]"},
		{"label absent NotIn", rq("label.nope", model.NotIn, "x"), true, "label.nope has no value; none of [x]"},
		{"label empty value Exists", rq("label.blank", model.Exists), true, `label.blank has [""]`},
		{"label absent DoesNotExist", rq("label.nope", model.DoesNotExist), true, ""},
		{"label Gt integer", rq("label.size", model.Gt, "41"), true, "label.size has [42]; 42 > 41"},
		{"label Lt not integer", rq("label.pilot", model.Lt, "5"), false, "label.pilot has [true]; not a single integer"},
		{"label Gt absent", rq("label.nope", model.Gt, "0"), false, "label.nope has no value"},
		{"In with many values uses a set", rq("id", model.In, "a", "b", "c", "d", "e", "f", "g", "h", "i", "nyc-0001"), true, ""},
		{"NotIn with many values", rq("id", model.NotIn, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(one(tc.r))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Matches(facts); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
			e := m.Explain(facts)
			if e.Matched != tc.want {
				t.Errorf("Explain.Matched = %v, want %v", e.Matched, tc.want)
			}
			r := e.Terms[0].Requirements[0]
			if tc.reason != "" && r.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", r.Reason, tc.reason)
			}
		})
	}
}

func TestTermsAreOredRequirementsAnded(t *testing.T) {
	facts := NewFacts(albany(), nil)
	// "Company-owned large stores in the northeast with a multi-lane
	// drive-thru and an acme3000 or acme3001 grill" is one term.
	flagship := []model.Requirement{
		rq("owner", model.In, "corporate"),
		rq("format", model.In, "large"),
		rq("geo", model.In, "us/northeast"),
		rq("driveThruLanes", model.Gt, "1"),
		rq("devices", model.In, "acme3000", "acme3001"),
	}
	tests := []struct {
		name string
		sel  *model.Selector
		want bool
	}{
		{"flagship term", sel(flagship), true},
		{"one failing requirement fails the term", sel(append(slices.Clone(flagship), rq("owner", model.In, "franchise"))), false},
		{"second term matches", sel([]model.Requirement{rq("owner", model.In, "franchise")}, []model.Requirement{rq("country", model.In, "US")}), true},
		{"no term matches", sel([]model.Requirement{rq("owner", model.In, "franchise")}, []model.Requirement{rq("country", model.In, "CA")}), false},
		{"nil selector matches all", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Matches(facts); got != tc.want {
				t.Errorf("Matches = %v, want %v\n%s", got, tc.want, m.Explain(facts))
			}
		})
	}
}

func TestExplainString(t *testing.T) {
	m, err := Compile(sel(
		[]model.Requirement{rq("owner", model.In, "corporate"), rq("devices", model.In, "acme3001")},
		[]model.Requirement{rq("driveThruLanes", model.Gt, "1")},
	))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Explain(NewFacts(albany(), nil)).String()
	want := `matched
  term 1: not matched
    owner In [corporate]: matched (owner has [corporate]; corporate is in [corporate])
    devices In [acme3001]: not matched (devices has [acme3000 camera]; none of [acme3001])
  term 2: matched
    driveThruLanes Gt [1]: matched (driveThruLanes has [2]; 2 > 1)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if s := MatchAll().Explain(NewFacts(albany(), nil)).String(); s != "no selector: matches every store" {
		t.Errorf("match-all explanation = %q", s)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		sel  *model.Selector
		want []Problem
	}{
		{"nil is valid", nil, nil},
		{"valid", one(rq("label.pilot", model.Exists), rq("nodes", model.Gt, "1")), nil},
		{"no terms", &model.Selector{}, []Problem{{"terms", "selector has no terms and would match no store; leave the selector out to match every store"}}},
		{"empty term", sel(nil), []Problem{{"terms[0].match", "term has no requirements and would match no store"}}},
		{"unknown key with suggestion", one(rq("owner", model.In, "x"), rq("devises", model.In, "a")),
			[]Problem{{"terms[0].match[1].key", `unknown key "devises"; did you mean "devices"?`}}},
		{"key in wrong case", one(rq("DriveThruLanes", model.Exists)),
			[]Problem{{"terms[0].match[0].key", `unknown key "DriveThruLanes"; did you mean "driveThruLanes"?`}}},
		{"labels. instead of label.", one(rq("labels.pilot", model.Exists)),
			[]Problem{{"terms[0].match[0].key", `unknown key "labels.pilot"; did you mean "label.pilot"?`}}},
		{"unknown key without suggestion", one(rq("paused", model.Exists)),
			[]Problem{{"terms[0].match[0].key", `unknown key "paused"; keys are id, name, geo, country, region, city, timezone, owner, franchisee, format, driveThruLanes, nodes, devices, deliveryPartners, languages, group and label.<name>`}}},
		{"label without name", one(rq("label.", model.Exists)),
			[]Problem{{"terms[0].match[0].key", `label key needs a name after "label.", e.g. "label.pilot"`}}},
		{"empty key", one(rq("", model.Exists)), []Problem{{"terms[0].match[0].key", "key is empty"}}},
		{"In without values", one(rq("id", model.In)), []Problem{{"terms[0].match[0].values", "In needs at least one value"}}},
		{"NotIn without values", sel(nil, []model.Requirement{rq("id", model.NotIn)}),
			[]Problem{{"terms[0].match", "term has no requirements and would match no store"}, {"terms[1].match[0].values", "NotIn needs at least one value"}}},
		{"Exists with values", one(rq("id", model.Exists, "a")), []Problem{{"terms[0].match[0].values", "Exists takes no values, got [a]"}}},
		{"DoesNotExist with values", one(rq("id", model.DoesNotExist, "a", "b")), []Problem{{"terms[0].match[0].values", "DoesNotExist takes no values, got [a b]"}}},
		{"Gt without values", one(rq("nodes", model.Gt)), []Problem{{"terms[0].match[0].values", "Gt needs exactly one integer value, got 0 values"}}},
		{"Lt with two values", one(rq("nodes", model.Lt, "1", "2")), []Problem{{"terms[0].match[0].values", "Lt needs exactly one integer value, got 2 values"}}},
		{"Gt not an integer", one(rq("nodes", model.Gt, "1.5")), []Problem{{"terms[0].match[0].values[0]", `Gt needs an integer, got "1.5"`}}},
		{"unknown operator", one(rq("nodes", "Equals", "1")), []Problem{{"terms[0].match[0].operator", `unknown operator "Equals"; want In, NotIn, Exists, DoesNotExist, Gt or Lt`}}},
		{"several problems in order", one(rq("nope", model.In), rq("id", model.Gt, "x")), []Problem{
			{"terms[0].match[0].key", `unknown key "nope"; did you mean "name"?`},
			{"terms[0].match[0].values", "In needs at least one value"},
			{"terms[0].match[1].values[0]", `Gt needs an integer, got "x"`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.sel)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Check =\n%q\nwant\n%q", got, tc.want)
			}
			_, err := Compile(tc.sel)
			var se *Error
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Compile: %v", err)
				}
			} else if !errors.As(err, &se) || !slices.Equal(se.Problems, tc.want) {
				t.Errorf("Compile error = %v, want the problems", err)
			}
		})
	}
}

func TestUsesGroups(t *testing.T) {
	tests := []struct {
		name string
		sel  *model.Selector
		want bool
	}{
		{"nil", nil, false},
		{"no group", one(rq("owner", model.In, "corporate")), false},
		{"group in second term", sel([]model.Requirement{rq("owner", model.In, "x")}, []model.Requirement{rq("group", model.NotIn, "lab")}), true},
		{"label named group", one(rq("label.group", model.Exists)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.UsesGroups(); got != tc.want {
				t.Errorf("UsesGroups = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFacts(t *testing.T) {
	s := albany()
	s.Attributes.Devices = []string{"b", "", "a", "b"}
	f := NewFacts(s, nil)
	tests := []struct {
		key  string
		want []string
	}{
		{"geo", []string{"us", "us/northeast", "us/northeast/ny", "us/northeast/ny/albany"}},
		{"devices", []string{"a", "b"}},
		{"franchisee", nil},
		{"group", nil},
		{"label.size", []string{"42"}},
		{"label.nope", nil},
		{"driveThruLanes", []string{"2"}},
	}
	for _, tc := range tests {
		got, ok := f.Values(tc.key)
		if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("Values(%q) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
	}
	if _, ok := f.Values("nope"); ok {
		t.Error("Values(nope) reported a known key")
	}
	g := f.WithGroups([]string{"z", "a"})
	if got, _ := g.Values("group"); !slices.Equal(got, []string{"a", "z"}) {
		t.Errorf("WithGroups group = %q", got)
	}
	if got, _ := f.Values("group"); got != nil {
		t.Errorf("WithGroups changed the original: %q", got)
	}
	if g.ID() != "nyc-0001" {
		t.Errorf("ID = %q", g.ID())
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-7", -7, true}, {"+3", 3, true},
		{"", 0, false}, {"-", 0, false}, {"1.5", 0, false}, {"x", 0, false},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tc := range tests {
		n, ok := parseInt(tc.in)
		if n != tc.n || ok != tc.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	facts := NewFacts(albany(), []string{"northeast"})
	m, err := Compile(sel(
		[]model.Requirement{rq("label.size", model.Gt, "3"), rq("label.pilot", model.In, "false")},
		[]model.Requirement{rq("geo", model.In, "us/west"), rq("devices", model.NotIn, "x")},
		[]model.Requirement{rq("group", model.In, "a", "b", "c", "d", "e", "f", "g", "h", "i", "northeast"), rq("nodes", model.Lt, "2")},
		[]model.Requirement{rq("label.nope", model.Gt, "3")},
	))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.Matches(facts) }); n != 0 {
		t.Errorf("Matches allocates %v times per call", n)
	}
}

func BenchmarkMatches(b *testing.B) {
	facts := NewFacts(albany(), []string{"northeast", "pilot-stores"})
	m, err := Compile(sel(
		[]model.Requirement{rq("owner", model.In, "corporate"), rq("format", model.In, "large"), rq("geo", model.In, "us/northeast"),
			rq("driveThruLanes", model.Gt, "1"), rq("devices", model.In, "acme3000", "acme3001")},
	))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Matches(facts)
	}
}
