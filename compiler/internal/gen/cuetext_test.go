package gen

import (
	"bufio"
	"bytes"
	"testing"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
)

func render(f func(w *cueWriter)) string {
	var b bytes.Buffer
	w := &cueWriter{Writer: bufio.NewWriter(&b)}
	f(w)
	w.Flush()
	return b.String()
}

func TestFields(t *testing.T) {
	cases := []struct {
		name string
		in   obj
		want string
	}{
		{"aligned scalars", obj{{"id", "a"}, {"timezone", "UTC"}, {"nodes", 2}},
			"id:       \"a\"\ntimezone: \"UTC\"\nnodes:    2\n"},
		{"list ends the run", obj{{"owner", "corporate"}, {"driveThruLanes", 1}, {"devices", []string{"kds"}}, {"format", "small"}},
			"owner:          \"corporate\"\ndriveThruLanes: 1\ndevices: [\"kds\"]\nformat: \"small\"\n"},
		{"quoted labels count their quotes", obj{{"a-b", true}, {"c", 1.0}},
			"\"a-b\": true\nc:     1.0\n"},
		{"keyword, hidden and reference", obj{{"if", ref("_x.y")}, {"_x", inline{{"y", 0.95}}}},
			"\"if\": _x.y\n_x: {y: 0.95}\n"},
		{"nested block", obj{{"values", obj{{"a", obj{{"b", "c"}}}}}},
			"values: {\n\ta: {\n\t\tb: \"c\"\n\t}\n}\n"},
		{"selector", obj{{"target", one("devices", "In", "a", "b")}},
			"target: terms: [{match: [{key: \"devices\", operator: \"In\", values: [\"a\", \"b\"]}]}]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(func(w *cueWriter) { w.fields(0, tc.in) })
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			formatted, err := format.Source([]byte(got))
			if err != nil {
				t.Fatalf("format: %v", err)
			}
			if string(formatted) != got {
				t.Errorf("not cue fmt clean; cue fmt gives:\n%s", formatted)
			}
		})
	}
}

func TestIsIdent(t *testing.T) {
	cases := map[string]bool{
		"pos": true, "driveThruLanes": true, "_hours": true, "a1_b": true,
		"": false, "kitchen-display": false, "1a": false, "in": false, "true": false, "a.b": false, "é": false,
	}
	for in, want := range cases {
		if got := isIdent(in); got != want {
			t.Errorf("isIdent(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzQuote checks that CUE reads back every string quote writes.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "Montréal", `a"b\c`, "tab\tnl\n", "\x00\x1f\x7f", `\(x)`, "${FLEETC_STORE_ID}", "😀"} {
		f.Add(s)
	}
	ctx := cuecontext.New()
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		src := "x: " + render(func(w *cueWriter) { w.quote(s) })
		v := ctx.CompileString(src).LookupPath(cue.ParsePath("x"))
		got, err := v.String()
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got != s {
			t.Errorf("round trip %q -> %s -> %q", s, src, got)
		}
	})
}
