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

func TestClosest(t *testing.T) {
	cands := []string{"FLEETC_STORE_ID", "FLEETC_STORE_NAME", "FLEETC_RING"}
	for name, want := range map[string]string{
		"FLEETC_STORE_IDD": "FLEETC_STORE_ID",
		"FLEETC_STORENAME": "FLEETC_STORE_NAME",
		"FLEETC_RINGS":     "FLEETC_RING",
		"FLEETC_COUNTRY":   "",
		"x":                "",
	} {
		if got := Closest(name, cands); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}
