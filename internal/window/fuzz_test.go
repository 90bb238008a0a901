package window

import (
	"testing"
	"time"
)

// FuzzParse: the agent parses the window text the compile wrote into the
// store's ConfigMap; whatever it reads, Parse never panics, a schedule it
// accepts answers At without panicking, and its Text parses back to the
// same text.
func FuzzParse(f *testing.F) {
	f.Add("mon 22:30-05:00 tue 22:30-05:00", "America/Chicago")
	f.Add("", "UTC")
	f.Add("always", "Europe/Berlin")
	f.Add("sun 00:00-24:00", "Pacific/Chatham")
	f.Fuzz(func(t *testing.T, text, zone string) {
		s, err := Parse(text, zone)
		if err != nil {
			return
		}
		_, _ = s.At(time.Date(2026, 3, 8, 8, 30, 0, 0, time.UTC))
		again, err := Parse(s.Text(), zone)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, its Text %q does not parse: %v", text, s.Text(), err)
		}
		if again.Text() != s.Text() {
			t.Fatalf("Text not stable: %q -> %q", s.Text(), again.Text())
		}
	})
}
