package gate

import (
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// History is what the sign-off rules read of the previous state: which
// versions of which apps each ring has run, and which apps each
// jurisdiction (country and region) has. Run indexes it from
// Options.Previous and the fleet's stores unless Options.History is set.
type History struct {
	ring  map[[3]string]bool // ring, app, version some store of the ring ran
	juris map[[2]string]bool // "country-region", app some store ran
}

// NewHistory returns an empty history: nothing has run anywhere.
func NewHistory() *History {
	return &History{ring: map[[3]string]bool{}, juris: map[[2]string]bool{}}
}

// AddRing records that a store of ring (its ring in the previous state)
// ran app at version.
func (h *History) AddRing(ring, app, version string) {
	h.ring[[3]string{ring, app, version}] = true
}

// AddJurisdiction records that a store of jurisdiction j (its country and
// region in the fleet; the city is not read) ran app.
func (h *History) AddJurisdiction(j model.Jurisdiction, app string) {
	h.juris[[2]string{j.Country + "-" + j.Region, app}] = true
}

// lookup answers for a store of ring and jurisdiction juris
// ("country-region") getting app at version to.
func (h *History) lookup(ring, juris, app, to string) policy.History {
	return policy.History{
		RingHasVersion:     to != "" && h.ring[[3]string{ring, app, to}],
		JurisdictionHasApp: h.juris[[2]string{juris, app}],
	}
}

// For is what the sign-off rules read for a store of ring and
// jurisdiction j getting app at version to ("" = removed).
func (h *History) For(ring string, j model.Jurisdiction, app, to string) policy.History {
	return h.lookup(ring, j.Country+"-"+j.Region, app, to)
}
