package model

import (
	"cmp"
	"slices"
)

// Index sorts every slice by its natural key and builds the lookup maps.
// Duplicates keep the first entry in sorted order; the loader reports them.
func (f *Fleet) Index() {
	slices.SortFunc(f.Stores, func(a, b *Store) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(f.Groups, func(a, b *Group) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(f.Apps, func(a, b *App) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(f.Rings, func(a, b *Ring) int {
		if c := cmp.Compare(a.Order, b.Order); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	slices.SortFunc(f.Freezes, func(a, b *Freeze) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(f.Overrides, func(a, b *Override) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(f.Halts, func(a, b *Halt) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(f.Teams, func(a, b *Team) int { return cmp.Compare(a.Name, b.Name) })

	f.StoreByID = make(map[string]*Store, len(f.Stores))
	for _, s := range f.Stores {
		if _, ok := f.StoreByID[s.ID]; !ok {
			f.StoreByID[s.ID] = s
		}
	}
	f.GroupByID = make(map[string]*Group, len(f.Groups))
	for _, g := range f.Groups {
		if _, ok := f.GroupByID[g.Name]; !ok {
			f.GroupByID[g.Name] = g
		}
	}
	f.AppByID = make(map[string]*App, len(f.Apps))
	for _, a := range f.Apps {
		if _, ok := f.AppByID[a.ID]; !ok {
			f.AppByID[a.ID] = a
		}
	}
	f.RingByID = make(map[string]*Ring, len(f.Rings))
	for _, r := range f.Rings {
		if _, ok := f.RingByID[r.Name]; !ok {
			f.RingByID[r.Name] = r
		}
	}
	f.TeamByID = make(map[string]*Team, len(f.Teams))
	for _, t := range f.Teams {
		if _, ok := f.TeamByID[t.Name]; !ok {
			f.TeamByID[t.Name] = t
		}
	}
}
