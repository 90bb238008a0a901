package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "pos", 3},
		{"pos", "", 3},
		{"devices", "devices", 0},
		{"devises", "devices", 1},
		{"fromat", "format", 2},
		{"kitten", "sitting", 3},
		{"us-il-chicago-0101", "us-il-chicago-0110", 2},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}
