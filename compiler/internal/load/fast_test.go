package load

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// fullStores is the reference: the file unified whole with #File and
// decoded, as the loader does without the fast path.
func fullStores(t testing.TB, s *schema, rel string, src []byte) (map[string]*model.Store, bool) {
	t.Helper()
	f, err := parser.ParseFile(rel, src)
	if err != nil {
		return nil, false
	}
	v, diags, _ := validate(s, rel, src, f)
	if len(diags) != 0 {
		return nil, false
	}
	var fj fileJSON
	if err := decodeValue(v, reflect.ValueOf(&fj).Elem()); err != nil {
		t.Fatalf("%s: decode: %v", rel, err)
	}
	return fj.Stores, true
}

func fast(t testing.TB, s *schema, rel string, src []byte) (map[string]*model.Store, bool) {
	t.Helper()
	f, err := parser.ParseFile(rel, src)
	if err != nil {
		return nil, false
	}
	stores, _, ok := fastStores(s, f, src)
	return stores, ok
}

func embeddedSchema(t testing.TB) *schema {
	t.Helper()
	s, diags, err := loadSchema(t.TempDir())
	if err != nil || len(diags) != 0 {
		t.Fatalf("schema: %v %v", err, diags)
	}
	return s
}

// TestFastShape: the shipped #Store has the property the fast path needs,
// and its struct fields split where their sub-fields are independent.
func TestFastShape(t *testing.T) {
	sh := embeddedSchema(t).fastShape()
	if sh == nil {
		t.Fatal("the embedded schema gets no fast path")
	}
	want := map[string]string{
		"attributes":   "[[owner franchisee] [format] [driveThruLanes] [devices] [deliveryPartners] [languages] [labels]]",
		"jurisdiction": "[[country] [region] [city]]",
		"cluster":      "[[nodes] [k3sVersion] [fluxVersion]]",
		"hours":        "[]", // a pattern, validated whole
		"pause":        "[]", // a pointer in Go, validated whole
		"agent":        "[]",
		"name":         "[]",
	}
	for l, w := range want {
		if got := fmt.Sprint(sh.fields[l].groups); got != w {
			t.Errorf("%s groups = %s, want %s", l, got, w)
		}
	}
	if !sh.fields["pause"].optional || sh.fields["name"].optional {
		t.Errorf("optional: pause %v name %v", sh.fields["pause"].optional, sh.fields["name"].optional)
	}
}

// TestFastShapeRejects: schemas the fast path must not trust.
func TestFastShapeRejects(t *testing.T) {
	base, err := os.ReadFile("../../../schemas/fleet.cue")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"field refers to a sibling", "\tgeo:      =~", "\tgeo: =~name & =~"},
		{"comprehension at the top", "\tname:     string & !=\"\"", "\tname: string & !=\"\"\n\tif name == \"x\" {geo: \"x\"}"},
		{"embedding", "\tname:     string & !=\"\"", "\tname: string & !=\"\"\n\t#Other"},
		{"stores declared otherwise", "stores?: [ID=string]: #Store & {id: ID}", "stores?: [ID=string]: #Store"},
		{"unknown field", "\tname:     string & !=\"\"", "\tname: string & !=\"\"\n\tshoeSize: int"},
		{"required field", "\tname:     string & !=\"\"", "\tname!: string & !=\"\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(string(base), tc.old, tc.new, 1)
			if src == string(base) {
				t.Fatalf("%q not in schemas/fleet.cue", tc.old)
			}
			f, err := parser.ParseFile("fleet.cue", src)
			if err != nil {
				t.Fatal(err)
			}
			if sh := storeShapeOf([]*ast.File{f}); sh != nil {
				t.Errorf("fast path trusted a schema where %s", tc.name)
			}
		})
	}
}

// TestFastEqualsFull: every store file of the sample and of a generated
// fleet takes the fast path and decodes to exactly what the whole-file
// evaluation decodes.
func TestFastEqualsFull(t *testing.T) {
	stores := map[string]int{}
	eachFleetFile(t, func(t *testing.T, s *schema, rel string, src []byte) {
		if !strings.HasPrefix(rel, "inventory/stores/") {
			return
		}
		got, ok := fast(t, s, rel, src)
		if !ok {
			t.Errorf("%s: no fast path", rel)
			return
		}
		want, _ := fullStores(t, s, rel, src)
		if !reflect.DeepEqual(got, want) {
			for id := range want {
				if !reflect.DeepEqual(got[id], want[id]) {
					t.Errorf("%s: %s:\nfast %+v\nfull %+v", rel, id, got[id], want[id])
					break
				}
			}
		}
		stores[t.Name()] += len(got)
	})
	for _, fleet := range []string{"sample", "generated"} {
		if n := stores[t.Name()+"/"+fleet]; n == 0 {
			t.Errorf("%s: no stores compared", fleet)
		}
	}
}

const fastBase = `package fleet

_hours: std: {mon: {open: "06:00", close: "22:00"}}
let tz = "America/Chicago"
_common: {jurisdiction: {city: "Aurora"}}

stores: {
	"us-il-a-1": {
		name:     "A 1"
		geo:      "us/il/a"
		timezone: tz
		hours:    _hours.std
		jurisdiction: {country: "US", region: "IL"}
		attributes: {owner: "franchise", franchisee: "fr-one", devices: ["kds"]}
		cluster: {nodes: 2}
	}
	"us-il-a-2": {
		name:     "A 2"
		geo:      "us/il/a"
		timezone: "America/Chicago"
		hours:    _hours.std
		jurisdiction: {country: "US", region: "IL"}
		attributes: {owner: "corporate", driveThruLanes: 2, labels: {wave: "w1"}}
		cluster: {nodes: 1}
		pause: {reason: "remodel"}
		values: pos: {replicas: 2}
	}
}
`

// TestFastCases: edits of a small store file. Each case says whether the
// whole-file evaluation accepts it (valid) and whether the fast path may
// take it; when both accept, they must decode the same. The fast path
// must never accept what the whole file rejects.
func TestFastCases(t *testing.T) {
	s := embeddedSchema(t)
	for _, tc := range []struct {
		name     string
		old, new string
		valid    bool
		fast     bool
	}{
		{"base", "", "", true, true},
		{"hours absent (none open)", "\t\thours:    _hours.std\n\t\tjurisdiction: {country: \"US\", region: \"IL\"}\n\t\tattributes: {owner: \"franchise\"", "\t\tjurisdiction: {country: \"US\", region: \"IL\"}\n\t\tattributes: {owner: \"franchise\"", true, true},
		{"cluster absent (defaults)", "\t\tcluster: {nodes: 2}\n", "", true, true},
		{"attributes by reference", `attributes: {owner: "corporate", driveThruLanes: 2, labels: {wave: "w1"}}`, `attributes: _attrs`, false, false},
		{"quoted labels", `name:     "A 1"`, `"name": "A 1"`, true, true},
		{"name missing", "\t\tname:     \"A 1\"\n", "", false, false},
		{"name empty", `name:     "A 1"`, `name: ""`, false, false},
		{"bad timezone shape", `timezone: "America/Chicago"`, `timezone: "chicago"`, false, false},
		{"unknown store field", `geo:      "us/il/a"`, "geo: \"us/il/a\"\n\t\tshoeSize: 3", false, false},
		{"unknown attribute", `devices: ["kds"]`, `devices: ["kds"], colour: "red"`, false, false},
		{"franchise without franchisee", `owner: "franchise", franchisee: "fr-one",`, `owner: "franchise",`, false, false},
		{"franchisee not an id", `franchisee: "fr-one"`, `franchisee: "Fr One"`, false, false},
		{"lanes out of range", `driveThruLanes: 2`, `driveThruLanes: 9`, false, false},
		{"lanes not concrete (the default applies)", `driveThruLanes: 2`, `driveThruLanes: int`, true, true},
		{"nodes out of range", `cluster: {nodes: 2}`, `cluster: {nodes: 4}`, false, false},
		{"store key not an id", `"us-il-a-2": {`, `"US IL": {`, false, false},
		{"id written", `name:     "A 2"`, "id: \"us-il-a-2\"\n\t\tname: \"A 2\"", true, true},
		{"wrong id written", `name:     "A 2"`, "id: \"other\"\n\t\tname: \"A 2\"", false, false},
		{"pause without reason", `pause: {reason: "remodel"}`, `pause: {until: "2026-12-01T00:00:00Z"}`, false, false},
		{"values not a struct", `values: pos: {replicas: 2}`, `values: pos: 3`, false, false},
		{"sibling reference", `geo:      "us/il/a"`, "geo: name", false, false},
		{"reference to another store", `name:     "A 2"`, `name: stores["us-il-a-1"].name`, true, false},
		{"another top-level field", "let tz", "apps: {}\nlet tz", true, false},
		{"hidden field refers to the schema", `_hours: std:`, "_x: #Store\n_hours: std:", false, false},
		{"conflict with itself", `name:     "A 2"`, "name: \"A 2\"\n\t\tname: \"A 3\"", false, false},
		{"repeated equal field", `name:     "A 2"`, "name: \"A 2\"\n\t\tname: \"A 2\"", true, true},
		{"hours day unknown", `_hours: std: {mon:`, `_hours: std: {monday:`, false, false},
		{"embedding", `name:     "A 1"`, "_common\n\t\tname: \"A 1\"", true, true},
		{"embedding conflicts", `name:     "A 1"`, "_common\n\t\tname: \"A 1\"\n\t\tcolour: 1", false, false},
		{"interpolated name", `name:     "A 1"`, `name: "A \(1)"`, true, true},
		{"languages default", `devices: ["kds"]`, `devices: ["kds"], languages: ["fr-CA"]`, true, true},
		{"language bad", `devices: ["kds"]`, `devices: ["kds"], languages: ["french"]`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fastBase
			if tc.old != "" {
				src = strings.Replace(fastBase, tc.old, tc.new, 1)
				if src == fastBase {
					t.Fatalf("%q not in the base file", tc.old)
				}
			}
			want, valid := fullStores(t, s, "s.cue", []byte(src))
			got, ok := fast(t, s, "s.cue", []byte(src))
			if valid != tc.valid {
				t.Errorf("whole-file evaluation valid = %v, want %v", valid, tc.valid)
			}
			if ok != tc.fast {
				t.Errorf("fast path = %v, want %v", ok, tc.fast)
			}
			if ok && !valid {
				t.Fatal("the fast path accepted a file the whole-file evaluation rejects")
			}
			if ok && !reflect.DeepEqual(got, want) {
				t.Errorf("decoded differently:\nfast %+v\nfull %+v", got, want)
			}
		})
	}
}

// FuzzFastPath puts arbitrary CUE expressions into a store's fields: the
// fast path either declines or agrees exactly with the whole file.
func FuzzFastPath(f *testing.F) {
	f.Add(`"A 1"`, `"us/il/a"`, `"franchise"`, `"fr-one"`, `2`, `["kds"]`, `{nodes: 2}`)
	f.Add(`""`, `"US"`, `"corporate"`, `"x"`, `*3 | int`, `[]`, `{}`)
	f.Add(`string`, `_hours.std`, `"franchise"`, `_|_`, `-1`, `["a", "a"]`, `{nodes: 1, k3sVersion: "v"}`)
	f.Add(`"n"`, `"g"`, `"corporate"`, `null`, `8`, `[_hours]`, `_hours.std`)
	s := embeddedSchema(f)
	f.Fuzz(func(t *testing.T, name, geo, owner, franchisee, lanes, devices, cluster string) {
		for _, e := range []string{name, geo, owner, franchisee, lanes, devices, cluster} {
			if strings.ContainsAny(e, "\n\r") || e == "" {
				return
			}
			if _, err := parser.ParseExpr("x", e); err != nil {
				return
			}
		}
		src := fmt.Sprintf(`package fleet

_hours: std: {mon: {open: "06:00", close: "22:00"}}

stores: {
	"s-1": {
		name: %s
		geo: %s
		timezone: "UTC"
		hours: _hours.std
		jurisdiction: {country: "US"}
		attributes: {owner: %s, franchisee: %s, driveThruLanes: %s, devices: %s}
		cluster: %s
	}
	"s-2": {
		name: "two"
		geo: "us/x"
		timezone: "UTC"
		jurisdiction: {country: "US"}
		attributes: {owner: "corporate"}
	}
}
`, name, geo, owner, franchisee, lanes, devices, cluster)
		got, ok := fast(t, s, "s.cue", []byte(src))
		if !ok {
			return
		}
		want, valid := fullStores(t, s, "s.cue", []byte(src))
		if !valid {
			t.Fatalf("fast path accepted a file the whole-file evaluation rejects:\n%s", src)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded differently:\nfast %+v\nfull %+v\n%s", got, want, src)
		}
	})
}

// TestLoadTakesFastPath: Load sends every store file of a generated fleet
// down the fast path, and the fleet it returns equals the one the
// whole-file path would give (TestFastEqualsFull compares per file).
func TestLoadTakesFastPath(t *testing.T) {
	root := generated(t)
	files, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, rel := range files {
		if strings.HasPrefix(rel, "inventory/stores/") {
			want++
		}
	}
	before := fastFiles.Load()
	fleet, diags, err := Load(t.Context(), Options{Root: root, Workers: 2})
	if err != nil || len(diags) != 0 {
		t.Fatalf("Load: %v %v", err, diags)
	}
	if got := fastFiles.Load() - before; got != int64(want) || want == 0 {
		t.Errorf("fast path took %d files, want the %d store files", got, want)
	}
	if len(fleet.Stores) != 300 {
		t.Errorf("%d stores, want 300", len(fleet.Stores))
	}
}
