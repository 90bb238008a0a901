package feedback

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// Status is GET /v1/status: how many stores report, and per app, version
// and ring how many stores run it and how they are.
type Status struct {
	GeneratedAt time.Time   `json:"generatedAt"`
	StaleAfter  string      `json:"staleAfter"`
	Stores      StoreCounts `json:"stores"`
	Apps        []AppStatus `json:"apps"`
}

// StoreCounts: Known stores are the fleet's; Reporting sent a report within
// StaleAfter, Stale did before, Never has no report; Unknown reported but
// is not in the fleet (a decommissioned store, or a fleet not reloaded yet).
type StoreCounts struct {
	Known     int `json:"known"`
	Reporting int `json:"reporting"`
	Stale     int `json:"stale"`
	Never     int `json:"never"`
	Unknown   int `json:"unknown"`
}

// AppStatus is one app's versions in the field.
type AppStatus struct {
	App      string          `json:"app"`
	Versions []VersionStatus `json:"versions"`
}

// VersionStatus is one version's rings.
type VersionStatus struct {
	Version string       `json:"version"`
	Rings   []RingCounts `json:"rings"`
}

// RingCounts counts the stores of one ring that run one version of one
// app, by their app's Ready; Stale counts those whose last report is old
// (they are in no other count).
type RingCounts struct {
	Ring    string `json:"ring"`
	Stores  int    `json:"stores"`
	Ready   int    `json:"ready"`
	Failing int    `json:"failing"`
	Unknown int    `json:"unknown"`
	Stale   int    `json:"stale"`
}

// BuildStatus aggregates a snapshot over the fleet at now.
func BuildStatus(snap *rollout.Snapshot, fleet *Fleet, now time.Time) *Status {
	st := &Status{GeneratedAt: now.UTC(), StaleAfter: fleet.StaleAfter.String()}
	st.Stores.Known = len(fleet.Stores)
	ringRank := map[string]int{}
	for i, r := range fleet.Rings {
		ringRank[r] = i
	}
	type key struct{ app, version, ring string }
	counts := map[key]*RingCounts{}
	for id, r := range snap.Stores {
		stale := fleet.StaleAfter > 0 && now.Sub(r.ReportedAt) > fleet.StaleAfter
		switch {
		case !fleet.Stores[id]:
			st.Stores.Unknown++
			continue
		case stale:
			st.Stores.Stale++
		default:
			st.Stores.Reporting++
		}
		ring := fleet.Ring[id]
		for app, a := range r.Apps {
			k := key{app, a.Version, ring}
			c := counts[k]
			if c == nil {
				c = &RingCounts{Ring: ring}
				counts[k] = c
			}
			c.Stores++
			switch {
			case stale:
				c.Stale++
			case a.Ready == "true":
				c.Ready++
			case a.Ready == "false":
				c.Failing++
			default:
				c.Unknown++
			}
		}
	}
	st.Stores.Never = st.Stores.Known - st.Stores.Reporting - st.Stores.Stale
	keys := slices.Collect(maps.Keys(counts))
	rank := func(r string) int {
		if i, ok := ringRank[r]; ok {
			return i
		}
		return len(ringRank)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.app, b.app), cmp.Compare(a.version, b.version), cmp.Compare(rank(a.ring), rank(b.ring)), cmp.Compare(a.ring, b.ring))
	})
	for _, k := range keys {
		if n := len(st.Apps); n == 0 || st.Apps[n-1].App != k.app {
			st.Apps = append(st.Apps, AppStatus{App: k.app})
		}
		a := &st.Apps[len(st.Apps)-1]
		if n := len(a.Versions); n == 0 || a.Versions[n-1].Version != k.version {
			a.Versions = append(a.Versions, VersionStatus{Version: k.version})
		}
		v := &a.Versions[len(a.Versions)-1]
		v.Rings = append(v.Rings, *counts[k])
	}
	return st
}
