package semver

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	valid := []string{
		"0.0.0", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
		"1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1",
		"1.0.0-alpha0.valid", "1.0.0-alpha.0valid", "1.0.0-rc.1+build.1", "2.0.0-rc.1+build.123",
		"1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "2.0.0+build.1848",
		"2.0.1-alpha.1227", "1.0.0-alpha+beta", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
		"1.2.3----R-S.12.9.1--.12+meta", "1.0.0+0.build.1-rc.10000aaa-kk-0.1", "1.0.0-0A.is.legal",
		"1.0.0+001", // leading zeros are allowed in build metadata
		"99999999999999999.99999999999999999.99999999999999999",
	}
	invalid := map[string]string{
		"":                 "empty",
		"1":                "three numbers",
		"1.2":              "three numbers",
		"1.2.3.4":          "three numbers",
		"1.2.3-0123":       "leading zero",
		"1.2.3-0123.0123":  "leading zero",
		"1.1.2+.123":       "empty",
		"+invalid":         "three numbers",
		"-invalid":         "three numbers",
		"-invalid+invalid": "three numbers",
		"alpha":            "three numbers",
		"1.0.0-alpha_beta": "only letters",
		"1.0.0-alpha..":    "empty",
		"1.0.0-alpha..1":   "empty",
		"5.12.0-rc..1":     "empty",
		"1.0.0-alpha...1":  "empty",
		"1.0.0-rc.1.":      "empty",
		"1.2.3-":           "empty",
		"1.2.3+":           "empty",
		"1.2.3+a..b":       "empty",
		"01.1.1":           "leading zero",
		"1.02.3":           "leading zero",
		"1.1.01":           "leading zero",
		"1.2.3.DEV":        "three numbers",
		"1.2-SNAPSHOT":     "three numbers",
		"1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788": "three numbers",
		"v1.2.3":                               "leading \"v\"",
		"V1.2.3":                               "leading \"V\"",
		"1.2.3-rc/1":                           "only letters",
		"1.2.3+a/../b":                         "only letters",
		"1.2.3 ":                               "not a number",
		" 1.2.3":                               "not a number",
		"1.2.3-é":                              "only letters",
		"99999999999999999999.0.0":             "too large",
		"1.0.0-" + strings.Repeat("a", MaxLen): "longer than",
	}
	for _, s := range valid {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v, want valid", s, err)
		}
	}
	for s, want := range invalid {
		_, err := Parse(s)
		if err == nil {
			t.Errorf("Parse(%q) accepted it", s)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %q, want it to say %q", s, err, want)
		}
	}
}

func TestCompare(t *testing.T) {
	// semver.org §11's example, in order.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			a, b := mustParse(t, order[i]), mustParse(t, order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if c := Compare(mustParse(t, "1.0.0+a"), mustParse(t, "1.0.0+b")); c != 0 {
		t.Errorf("build metadata counted in precedence: %d", c)
	}
}

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
