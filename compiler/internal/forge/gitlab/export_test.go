package gitlab

import "testing"

// NewTestEmulator starts the GitLab API emulator of emulator_test.go for
// tests outside this package's internal tests (publish_e2e_test.go): a
// forge pointed at it, and the merge requests it holds.
func NewTestEmulator(t *testing.T) (*Forge, func() []EmulatedMR) {
	e := newEmulator(t)
	return e.forge(t, emuToken), func() []EmulatedMR {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []EmulatedMR
		for _, mr := range e.mrs {
			out = append(out, EmulatedMR{IID: mr.IID, Title: mr.Title, Description: mr.Description, Source: mr.Source, Target: mr.Target})
		}
		return out
	}
}

// EmulatedMR is a merge request as the emulator stored it.
type EmulatedMR struct {
	IID                                int
	Title, Description, Source, Target string
}
