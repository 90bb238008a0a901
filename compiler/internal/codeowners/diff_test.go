package codeowners

import (
	"reflect"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		old, new  string
		first     int
		wantLines []string
	}{
		{name: "equal", old: "a\nb\n", new: "a\nb\n"},
		{name: "changed owner", old: "# h\n/a/ @x\n/b/ @y\n", new: "# h\n/a/ @x @z\n/b/ @y\n", first: 2,
			wantLines: []string{"-2: /a/ @x", "+2: /a/ @x @z"}},
		{name: "added line", old: "# h\n/a/ @x\n", new: "# h\n/a/ @x\n/b/ @y\n", first: 3,
			wantLines: []string{"+3: /b/ @y"}},
		{name: "removed line in the middle", old: "/a/\n/b/\n/c/\n", new: "/a/\n/c/\n", first: 2,
			wantLines: []string{"-2: /b/"}},
		{name: "missing file", old: "", new: "# h\n/a/\n", first: 1,
			wantLines: []string{"+1: # h", "+2: /a/"}},
		{name: "hand edit and a new line", old: "/a/ @x\n/z/ @me\n", new: "/a/ @x\n/b/ @y\n", first: 2,
			wantLines: []string{"-2: /z/ @me", "+2: /b/ @y"}},
		{name: "missing final newline", old: "/a/\n/b/", new: "/a/\n/b/\n", first: 2,
			wantLines: []string{"~2: line endings differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, lines := Diff([]byte(tt.old), []byte(tt.new))
			if first != tt.first || !reflect.DeepEqual(lines, tt.wantLines) {
				t.Errorf("Diff = %d, %q; want %d, %q", first, lines, tt.first, tt.wantLines)
			}
		})
	}
}

// TestDiffLarge: past the table bound the middle is shown replaced, and
// the first difference is still exact.
func TestDiffLarge(t *testing.T) {
	var a, b strings.Builder
	a.WriteString("same\n")
	b.WriteString("same\n")
	for i := range 2100 {
		a.WriteString("/old/" + strings.Repeat("x", i%7) + "\n")
		b.WriteString("/new/" + strings.Repeat("y", i%5) + "\n")
	}
	first, lines := Diff([]byte(a.String()), []byte(b.String()))
	if first != 2 || len(lines) != 4200 || lines[0] != "-2: /old/" || lines[2100] != "+2: /new/" {
		t.Errorf("Diff = %d, %d lines (%q, %q)", first, len(lines), lines[0], lines[2100])
	}
}
