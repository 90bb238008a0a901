package deploy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// AssignProfiles names the profile of every store: stores that run the
// same apps at the same variants in the same ring share one. Names are
// stable across compiles: a profile keeps the name most of its stores had
// in prev (same ring), so a version bump rewrites the profile's files in
// place and leaves the stores' entry points alone. A profile with no such
// predecessor is named <ring>-<10 hex digits of SHA-256 over its content>.
// The result depends only on s and prev, never on map order.
func (s *State) AssignProfiles(prev *State) {
	type group struct {
		key, ring, name string
		stores          []string
	}
	groups := map[string]*group{}
	var apps []string
	var key strings.Builder
	for id, ss := range s.Stores {
		apps = apps[:0]
		for app := range ss.Apps {
			apps = append(apps, app)
		}
		slices.Sort(apps)
		key.Reset()
		key.WriteString(ss.Ring)
		for _, app := range apps {
			key.WriteByte(0)
			key.WriteString(app)
			key.WriteByte('=')
			key.WriteString(ss.Apps[app])
		}
		g := groups[key.String()]
		if g == nil {
			g = &group{key: key.String(), ring: ss.Ring}
			groups[g.key] = g
		}
		g.stores = append(g.stores, id)
	}

	type candidate struct {
		g    *group
		name string
		n    int
	}
	var cands []candidate
	if prev != nil {
		for _, g := range groups {
			counts := map[string]int{}
			for _, id := range g.stores {
				if ps := prev.Stores[id]; ps != nil && ps.Profile != "" && ps.Ring == g.ring {
					counts[ps.Profile]++
				}
			}
			for name, n := range counts {
				cands = append(cands, candidate{g, name, n})
			}
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name), cmp.Compare(a.g.key, b.g.key))
	})
	used := make(map[string]bool, len(groups))
	for _, c := range cands {
		if c.g.name == "" && !used[c.name] {
			c.g.name = c.name
			used[c.name] = true
		}
	}
	keys := make([]string, 0, len(groups))
	for k, g := range groups {
		if g.name == "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		g := groups[k]
		name := freshProfileName(g.ring, k)
		for i := 1; used[name]; i++ {
			name = freshProfileName(g.ring, k+"\x00"+strconv.Itoa(i))
		}
		g.name = name
		used[name] = true
	}
	for _, g := range groups {
		for _, id := range g.stores {
			s.Stores[id].Profile = g.name
		}
	}
}

func freshProfileName(ring, key string) string {
	sum := sha256.Sum256([]byte(key))
	if ring == "" {
		ring = "p"
	}
	return ring + "-" + hex.EncodeToString(sum[:5])
}
