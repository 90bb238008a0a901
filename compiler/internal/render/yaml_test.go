package render

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func TestAppendYAML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalars", `{"a":1,"b":true,"c":null,"d":"x","e":1.5e3}`, "a: 1\nb: true\nc: null\nd: x\ne: 1.5e3\n"},
		{"key order kept", `{"z":1,"a":2}`, "z: 1\na: 2\n"},
		{"nested map", `{"a":{"b":{"c":"d"}}}`, "a:\n  b:\n    c: d\n"},
		{"sequence under key at key column", `{"a":["x","z"]}`, "a:\n- x\n- z\n"},
		{"maps in sequence", `{"a":[{"b":1,"c":2},{"d":3}]}`, "a:\n- b: 1\n  c: 2\n- d: 3\n"},
		{"nested sequences", `[[1,2],[3]]`, "- - 1\n  - 2\n- - 3\n"},
		{"sequence in map in sequence", `[{"a":["x"]}]`, "- a:\n  - x\n"},
		{"empty containers", `{"a":{},"b":[],"c":[{}]}`, "a: {}\nb: []\nc:\n- {}\n"},
		{"reserved words quoted", `["yes","No","on","OFF","y","null","~","true"]`,
			"- \"yes\"\n- \"No\"\n- \"on\"\n- \"OFF\"\n- \"y\"\n- \"null\"\n- \"~\"\n- \"true\"\n"},
		{"numbers in strings quoted", `["1.0","1","0x1F",".5","-1","1:20","2024-01-01","1e3","0o17","2024-01-01t10:00:00z"]`,
			"- \"1.0\"\n- \"1\"\n- \"0x1F\"\n- \".5\"\n- \"-1\"\n- \"1:20\"\n- \"2024-01-01\"\n- \"1e3\"\n- \"0o17\"\n- \"2024-01-01t10:00:00z\"\n"},
		{"digit-first strings that cannot be numbers", `["10m0s","./a","3rd","1.2.3-abc"]`, "- 10m0s\n- ./a\n- 3rd\n- \"1.2.3-abc\"\n"},
		{"spaces, colons, hashes", `[" a","a ","a: b","a:","a #b","a:b","NYC 0001"]`,
			"- \" a\"\n- \"a \"\n- \"a: b\"\n- \"a:\"\n- \"a #b\"\n- a:b\n- NYC 0001\n"},
		{"whole store variable plain", `{"id":"${FLEETC_STORE_ID}","url":"oci://ghcr.io/acme/pos"}`,
			"id: ${FLEETC_STORE_ID}\nurl: oci://ghcr.io/acme/pos\n"},
		{"escapes", `["a\"b\\c","tab\there","\u0001","\u2028"]`,
			"- 'a\"b\\c'\n- \"tab\\there\"\n- \"\\x01\"\n- \"\\L\"\n"},
		{"quoted keys", `{"":1,"1":2,"yes":3,"a b":4}`, "\"\": 1\n\"1\": 2\n\"yes\": 3\na b: 4\n"},
		{"literal block clip", `{"a":"line1\n  line2\n"}`, "a: |\n  line1\n    line2\n"},
		{"literal block strip", `{"a":["x\ny"]}`, "a:\n- |-\n  x\n  y\n"},
		{"literal block keep", `{"a":"x\n\ny\n\n"}`, "a: |+\n  x\n\n  y\n\n"},
		{"multi-line with leading space quoted", `{"a":" x\ny"}`, "a: \" x\\ny\"\n"},
		{"top-level string", `"hello"`, "hello\n"},
		{"whitespace in json", " { \"a\" : [ 1 , 2 ] } ", "a:\n- 1\n- 2\n"},
		{"unicode plain is quoted", `["héllo"]`, "- \"héllo\"\n"},
		{"surrogate pair", `["\ud83d\ude00"]`, "- \"😀\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendYAML(nil, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			assertRoundTrip(t, []byte(tt.in), got)
		})
	}
}

func TestAppendYAMLLongKey(t *testing.T) {
	key := strings.Repeat("k", 1500)
	in := `{"` + key + `":{"a":[1]},"b":2}`
	got, err := AppendYAML(nil, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "? "+key+"\n:\n") {
		t.Errorf("long key not explicit: %.40q", got)
	}
	assertRoundTrip(t, []byte(in), got)
}

func TestAppendYAMLInvalid(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1 2]`, `"abc`, `tru`, `01`, `{"a":1}x`, `"\x"`} {
		if _, err := AppendYAML(nil, []byte(in)); err == nil {
			t.Errorf("AppendYAML(%q): no error", in)
		}
	}
}

func FuzzAppendYAML(f *testing.F) {
	for _, s := range []string{
		`{"a":"b"}`, `[1,2.5,-3e-2,true,null]`, `{"x":["yes","1.0","~"," lead","trail ","a\nb\n"]}`,
		`{"k":{"":{"z":[[],{}]}}}`, `"${X}"`, `{"a":"#c","b":"a: b","c":"- x","d":"? y","e":"&a","f":"*b","g":"!t"}`,
		`["\t","x\r\ny","\u0085","   \nx","x\n   ","\n"]`, `{"m":"a\n\n\n"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		if _, err := AppendYAML(nil, in); err != nil {
			t.Fatalf("valid JSON %q: %v", in, err)
		}
		// Round-trip through encoding/json first: it drops duplicate keys,
		// which YAML rejects and JSON resolves to the last one.
		var v any
		if err := json.Unmarshal(in, &v); err != nil {
			return
		}
		canon, err := json.Marshal(v)
		if err != nil {
			return
		}
		out, err := AppendYAML(nil, canon)
		if err != nil {
			t.Fatalf("canonical JSON %q: %v", canon, err)
		}
		assertRoundTrip(t, canon, out)
	})
}

// assertRoundTrip parses y with a real YAML parser and checks it holds
// exactly the JSON document j.
func assertRoundTrip(t *testing.T, j, y []byte) {
	t.Helper()
	var want any
	if err := json.Unmarshal(j, &want); err != nil {
		t.Fatalf("json: %v", err)
	}
	var got any
	if err := yaml.Unmarshal(y, &got); err != nil {
		t.Fatalf("yaml does not parse: %v\ninput %q\nyaml:\n%s", err, j, y)
	}
	if !sameValue(normalise(got), want) {
		t.Fatalf("round trip differs\njson: %s\nyaml:\n%s\nparsed: %#v", j, y, got)
	}
}

// normalise turns yaml.v3 numbers into float64 as encoding/json has them.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalise(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = normalise(e)
		}
		return v
	case int:
		return float64(v)
	case uint64:
		return float64(v)
	case int64:
		return float64(v)
	}
	return v
}

func sameValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		return fa == fb || (math.IsNaN(fa) && math.IsNaN(fb))
	}
	return reflect.DeepEqual(a, b)
}
