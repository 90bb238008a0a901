package diag

import (
	"bytes"
	"errors"
	"testing"
)

func TestSortOrdersAndDedupes(t *testing.T) {
	var l List
	l.Errorf(Pos{File: "inventory/b.cue", Line: 3, Col: 1}, "stores.b", "schema", "second file")
	l.Errorf(Pos{File: "inventory/a.cue", Line: 10, Col: 5}, "stores.a.timezone", "schema", "late line")
	l.Errorf(Pos{File: "inventory/a.cue", Line: 2, Col: 9}, "stores.a.id", "schema", "early line")
	l.Errorf(Pos{File: "inventory/a.cue", Line: 2, Col: 9}, "stores.a.id", "schema", "early line")
	l.Warnf(Pos{}, "", "note", "no position")
	l.Sort()
	want := []string{
		"no position",
		"inventory/a.cue:2:9: stores.a.id: early line",
		"inventory/a.cue:10:5: stores.a.timezone: late line",
		"inventory/b.cue:3:1: stores.b: second file",
	}
	if len(l) != len(want) {
		t.Fatalf("got %d diagnostics, want %d: %v", len(l), len(want), l)
	}
	for i, d := range l {
		if d.String() != want[i] {
			t.Errorf("[%d] = %q, want %q", i, d.String(), want[i])
		}
	}
	if l.Errors() != 3 || !l.HasErrors() {
		t.Errorf("Errors() = %d, want 3", l.Errors())
	}
}

func TestPosString(t *testing.T) {
	for name, tc := range map[string]struct {
		pos  Pos
		want string
	}{
		"empty":     {Pos{}, ""},
		"file only": {Pos{File: "a.cue"}, "a.cue"},
		"line":      {Pos{File: "a.cue", Line: 4}, "a.cue:4"},
		"full":      {Pos{File: "a.cue", Line: 4, Col: 2}, "a.cue:4:2"},
	} {
		if got := tc.pos.String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", name, got, tc.want)
		}
	}
}

func TestPrintGitHubEscapes(t *testing.T) {
	l := List{
		{Pos: Pos{File: "rings/a,b.cue", Line: 7, Col: 3}, Path: "rings.x", Severity: Error, Code: "schema", Message: "100% wrong\nsecond line"},
		{Pos: Pos{File: "apps/pos.cue", Line: 1}, Severity: Warning, Code: "deprecated", Message: "old"},
		{Pos: Pos{File: "inventory/b.cue", Line: 4, Col: 2}, Path: `stores."s-1"`, Severity: Error, Code: "duplicate-store", Message: "declared twice",
			Related: []Pos{{File: "inventory/a.cue", Line: 9, Col: 2}, {}, {File: "inventory/c.cue"}}},
	}
	var b bytes.Buffer
	if err := PrintGitHub(&b, l); err != nil {
		t.Fatal(err)
	}
	want := "::error file=rings/a%2Cb.cue,line=7,col=3,title=fleetc schema::rings.x: 100%25 wrong%0Asecond line\n" +
		"::warning file=apps/pos.cue,line=1,title=fleetc deprecated::old\n" +
		"::error file=inventory/b.cue,line=4,col=2,title=fleetc duplicate-store::stores.\"s-1\": declared twice (see inventory/a.cue:9:2) (see inventory/c.cue)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPrintJSONEmptyIsArray(t *testing.T) {
	var b bytes.Buffer
	if err := PrintJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\n  \"diagnostics\": []\n}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestErrWrapsList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list must give nil error")
	}
	l.Warnf(Pos{}, "", "w", "only a warning")
	if l.Err() != nil {
		t.Fatal("warnings alone must give nil error")
	}
	l.Errorf(Pos{File: "a.cue", Line: 1, Col: 1}, "x", "c", "bad")
	var le *ListError
	if err := l.Err(); !errors.As(err, &le) || len(le.List) != 2 {
		t.Fatalf("Err() = %v, want *ListError with 2 entries", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"text", "json", "github"} {
		if _, err := ParseFormat(ok); err != nil {
			t.Errorf("ParseFormat(%q): %v", ok, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) succeeded")
	}
}
