package gen

import (
	"maps"
	"slices"
	"testing"
)

// The sample fleet in this repository must always load cleanly: every file
// valid on its own against #File, cue fmt clean, every reference resolved,
// and every store in exactly one ring.
func TestSampleFleet(t *testing.T) {
	fl := loadTree(t, "../../..")
	if t.Failed() {
		t.FailNow()
	}
	checkReferences(t, fl)

	if got := len(fl.Stores); got != 49 {
		t.Errorf("stores = %d, want 49", got)
	}
	if fl.Settings.DeployRepoSource != "flux-system" || fl.Settings.Window.AfterClose.Std().Minutes() != 30 ||
		fl.Settings.Window.BeforeOpen.Std().Minutes() != 60 {
		t.Errorf("settings = %+v", fl.Settings)
	}

	rings := ringOf(t, fl)
	sizes := map[string]int{}
	for _, s := range fl.Stores {
		got := rings[s.ID]
		if len(got) != 1 {
			t.Errorf("store %s is in rings %v, want exactly one", s.ID, got)
			continue
		}
		sizes[got[0]]++
	}
	want := map[string]int{"lab": 2, "canary": 6, "pilot": 12, "chain": 29}
	if !maps.Equal(sizes, want) {
		t.Errorf("ring sizes = %v, want %v", sizes, want)
	}

	m := newMembership(fl)
	members := func(group string) []string {
		set, err := m.group(group)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(set))
	}
	groupCases := []struct {
		group string
		want  []string
	}{
		{"illinois", []string{"us-il-chicago-0101", "us-il-chicago-0102", "us-il-chicago-0103", "us-il-chicago-0104",
			"us-il-chicago-0900", "us-il-naperville-0105", "us-il-springfield-0110", "us-il-springfield-0111"}},
		{"northeast-flagship-drive-thru", []string{"us-ma-boston-0031", "us-ny-albany-0012", "us-ny-new-york-0022"}},
		{"mall-kiosks", []string{"qc-montreal-0204", "us-az-phoenix-0302", "us-ca-los-angeles-0332",
			"us-ga-atlanta-0251", "us-il-chicago-0103", "us-ny-new-york-0020", "us-tx-houston-0221"}},
		{"franchise-boreal", []string{"qc-laval-0210", "qc-montreal-0202", "qc-montreal-0203", "qc-quebec-city-0221"}},
		{"no-kds", nil},
	}
	for _, tc := range groupCases {
		if got := members(tc.group); !slices.Equal(got, tc.want) {
			t.Errorf("group %s = %v, want %v", tc.group, got, tc.want)
		}
	}

	// drive-thru-vision must reach Illinois stores, so the legal policy
	// has something to deny.
	dtv := fl.AppByID["drive-thru-vision"]
	var illinois []string
	for _, s := range fl.Stores {
		ok, err := m.matches(s, dtv.Target)
		if err != nil {
			t.Fatal(err)
		}
		if ok && s.Jurisdiction.Region == "IL" {
			illinois = append(illinois, s.ID)
		}
	}
	wantIL := []string{"us-il-chicago-0102", "us-il-chicago-0104", "us-il-chicago-0900", "us-il-springfield-0110"}
	if !slices.Equal(illinois, wantIL) {
		t.Errorf("drive-thru-vision Illinois targets = %v, want %v", illinois, wantIL)
	}

	// Things the sample exists to show.
	zones := map[string]bool{}
	paused := 0
	for _, s := range fl.Stores {
		zones[s.Timezone] = true
		if s.Pause != nil {
			paused++
		}
	}
	for _, tz := range []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Toronto"} {
		if !zones[tz] {
			t.Errorf("no store in %s", tz)
		}
	}
	if paused != 1 {
		t.Errorf("paused stores = %d, want 1", paused)
	}
	if got := fl.AppByID["pos"].Versions["chain"]; got != "5.11.3" {
		t.Errorf("pos chain pin = %q", got)
	}
}
