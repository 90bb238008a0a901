package window

import (
	"strings"
	"testing"
	"time"
)

func TestTextParse(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		text string
	}{
		{Schedule{Zone: "UTC"}, "always"},
		{Schedule{Zone: "UTC", Group: &Weekly{Days: []string{"wed", "mon", "mon"}, Start: "23:00", End: "04:00"}}, "group mon,wed 23:00-04:00"},
		{Schedule{Zone: "America/Chicago", AfterClose: 30 * time.Minute, BeforeOpen: 90 * time.Minute,
			Hours: map[string]Day{"sat": {"08:00", "23:00"}, "mon": {"06:00", "22:00"}}}, "hours after=30m before=1h30m mon=06:00-22:00 sat=08:00-23:00"},
		{Schedule{Zone: "UTC", AfterClose: 0, BeforeOpen: 2 * time.Hour, Hours: map[string]Day{"sun": {"10:00", "02:00"}}}, "hours after=0s before=2h sun=10:00-02:00"},
	} {
		got := tc.s.Text()
		if got != tc.text {
			t.Errorf("Text() = %q, want %q", got, tc.text)
			continue
		}
		back, err := Parse(got, tc.s.Zone)
		if err != nil {
			t.Errorf("Parse(%q): %v", got, err)
			continue
		}
		if again := back.Text(); again != got {
			t.Errorf("Parse(%q).Text() = %q", got, again)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                                "empty",
		"sometimes":                       "want always, hours or group",
		"always mon":                      "nothing may follow always",
		"group mon 02:00":                 "want HH:MM-HH:MM",
		"group mon,funday 02:00-03:00":    `unknown day "funday"`,
		"group mon 02:00-03:00 extra":     "want: group",
		"hours after=30m mon=06:00-22:00": "hours need after= and before=",
		"hours after=30m before=1h":       "hours without a day",
		"hours after=-1m before=1h mon=06:00-22:00":  "after: want a duration",
		"hours after=30m before=1h mon=6-22":         "mon: want HH:MM-HH:MM",
		"hours after=30m before=1h xmas=06:00-22:00": `unknown key "xmas"`,
		"hours after=30m before=1h mon":              "want key=value",
	} {
		_, err := Parse(text, "UTC")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", text, err, want)
		}
	}
	if _, err := Parse("always", "Mars/Olympus"); err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("unknown zone: %v", err)
	}
}
