package target

import (
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/selector"
)

// Options tune Resolve.
type Options struct {
	// Workers is the number of goroutines; <= 0 means GOMAXPROCS.
	Workers int
}

// Result is the fleet's targeting: memberships, rings and assignments.
// Everything in it is shared and read-only: stores with identical
// assignments share one Apps slice, stores in the same groups share one
// StoreGroups slice, and stores with the same merged values share one
// *Variant.
type Result struct {
	Fleet       *model.Fleet
	StoreGroups map[string][]string        // store id -> sorted group names
	GroupStores map[string][]string        // group -> sorted store ids
	StoreRing   map[string]string          // store id -> ring name ("" when not exactly one)
	Facts       map[string]*selector.Facts // store id -> facts including groups
	Stores      []StoreTarget              // in store id order
	Variants    map[string]*Variant        // by Variant.ID

	idx *index // compiled selectors, kept for Explain
}

// StoreTarget is what one store should run.
type StoreTarget struct {
	Store *model.Store
	Ring  string
	Apps  []Assignment // app id order, only apps whose target matches
}

// Assignment is one app on one store.
type Assignment struct {
	App         *model.App
	Version     string
	VersionFrom string // "app" or "ring pin <ring>"
	Variant     *Variant
}

// Variant is an app at a version with fully merged values: the unit that
// is rendered once and shared by every store that runs it.
type Variant struct {
	// ID is "<app>@<version>-<hash10>", the hash over app id, version,
	// namespace, source, dependsOn, values and health (when set) as
	// canonical JSON.
	ID        string
	App       string
	Version   string
	Namespace string
	Source    model.AppSource
	DependsOn []string
	Health    *model.Health // nil: no probe
	// Values are merged: app values, then group overrides in declared
	// order, then the store's values (maps merge deeply; lists and
	// scalars replace).
	Values map[string]any
	// Provenance maps each leaf path (lists are leaves), e.g.
	// "ui.language", to the layer that set it: "app", "group:<name>" or
	// "store". When stores reach the same values through different layers
	// they share the variant and this records the first store's layers
	// (in store id order); Explain recomputes them per store.
	Provenance map[string]string
}
