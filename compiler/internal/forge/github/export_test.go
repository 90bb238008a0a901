package github

import "testing"

// NewTestEmulator starts the GitHub API emulator of emulator_test.go for
// tests outside this package's internal tests (publish_e2e_test.go): a
// forge pointed at it, and the pull requests it holds.
func NewTestEmulator(t *testing.T) (*Forge, func() []EmulatedPR) {
	e := newEmulator(t)
	return e.forge(t, emuToken), func() []EmulatedPR {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []EmulatedPR
		for _, pr := range e.prs {
			out = append(out, EmulatedPR{Number: pr.Number, Title: pr.Title, Body: pr.Body, Head: pr.Head, Base: pr.Base})
		}
		return out
	}
}

// EmulatedPR is a pull request as the emulator stored it.
type EmulatedPR struct {
	Number                  int
	Title, Body, Head, Base string
}
