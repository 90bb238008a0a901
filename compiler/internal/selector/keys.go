package selector

import (
	"slices"
	"strconv"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// key identifies a fixed selector key; label keys are handled apart.
type key uint8

const (
	keyID key = iota
	keyName
	keyGeo
	keyCountry
	keyRegion
	keyCity
	keyTimezone
	keyOwner
	keyFranchisee
	keyFormat
	keyDriveThruLanes
	keyNodes
	keyDevices
	keyDeliveryPartners
	keyLanguages
	keyGroup
	numKeys

	// keyLabel marks a label.<name> requirement.
	keyLabel key = 255
)

// LabelPrefix starts a key that tests one of the store's labels.
const LabelPrefix = "label."

var keyNames = [numKeys]string{
	keyID:               "id",
	keyName:             "name",
	keyGeo:              "geo",
	keyCountry:          "country",
	keyRegion:           "region",
	keyCity:             "city",
	keyTimezone:         "timezone",
	keyOwner:            "owner",
	keyFranchisee:       "franchisee",
	keyFormat:           "format",
	keyDriveThruLanes:   "driveThruLanes",
	keyNodes:            "nodes",
	keyDevices:          "devices",
	keyDeliveryPartners: "deliveryPartners",
	keyLanguages:        "languages",
	keyGroup:            "group",
}

var keyByName = func() map[string]key {
	m := make(map[string]key, numKeys)
	for k, n := range keyNames {
		m[n] = key(k)
	}
	return m
}()

// Keys returns the fixed key names in documentation order; label.<name>
// keys come on top of these.
func Keys() []string { return slices.Clone(keyNames[:]) }

// parseKey resolves a key name. For label keys it returns keyLabel and the
// label name.
func parseKey(s string) (key, string, bool) {
	if k, ok := keyByName[s]; ok {
		return k, "", true
	}
	if name, ok := strings.CutPrefix(s, LabelPrefix); ok && name != "" {
		return keyLabel, name, true
	}
	return 0, "", false
}

// intValue is a key's value as an integer, when it has exactly one value
// and that value is an integer.
type intValue struct {
	n  int64
	ok bool
}

func intOf(vals []string) intValue {
	if len(vals) != 1 {
		return intValue{}
	}
	n, ok := parseInt(vals[0])
	return intValue{n, ok}
}

// parseInt reads an optionally signed decimal integer without allocating
// (strconv allocates its error on failure, and Gt/Lt on labels parse on
// every evaluation).
func parseInt(s string) (int64, bool) {
	neg := false
	switch {
	case s == "":
		return 0, false
	case s[0] == '-' || s[0] == '+':
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	const cutoff = (1<<63 - 1) / 10
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > cutoff {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n < 0 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// Facts are one store's selector keys, prepared once so that matching is
// lookups only. Facts keep references to the store's label map and, when
// they are already sorted, its lists: do not modify the store afterwards.
type Facts struct {
	id     string
	geo    string
	vals   [numKeys][]string
	labels map[string]string
}

// NewFacts prepares a store's keys. groups are the sorted names of the
// groups the store belongs to; nil while group membership itself is being
// computed.
func NewFacts(s *model.Store, groups []string) *Facts {
	f := &Facts{id: s.ID, geo: s.Geo, labels: s.Attributes.Labels}
	lanes := strconv.Itoa(s.Attributes.DriveThruLanes)
	nodes := strconv.Itoa(s.Cluster.Nodes)
	singles := [...]struct {
		k key
		v string
	}{
		{keyID, s.ID}, {keyName, s.Name},
		{keyCountry, s.Jurisdiction.Country}, {keyRegion, s.Jurisdiction.Region}, {keyCity, s.Jurisdiction.City},
		{keyTimezone, s.Timezone},
		{keyOwner, s.Attributes.Owner}, {keyFranchisee, s.Attributes.Franchisee}, {keyFormat, s.Attributes.Format},
		{keyDriveThruLanes, lanes}, {keyNodes, nodes},
	}
	// One backing array for every single-valued key.
	backing := make([]string, 0, len(singles))
	for _, sv := range singles {
		if sv.v == "" {
			continue
		}
		backing = append(backing, sv.v)
		n := len(backing)
		f.vals[sv.k] = backing[n-1 : n : n]
	}
	f.vals[keyGeo] = geoPrefixes(s.Geo)
	f.vals[keyDevices] = normalise(s.Attributes.Devices)
	f.vals[keyDeliveryPartners] = normalise(s.Attributes.DeliveryPartners)
	f.vals[keyLanguages] = normalise(s.Attributes.Languages)
	f.vals[keyGroup] = normalise(groups)
	return f
}

// WithGroups returns a copy of f whose group key holds groups (sorted
// names). The copy shares everything else with f.
func (f *Facts) WithGroups(groups []string) *Facts {
	g := *f
	g.vals[keyGroup] = normalise(groups)
	return &g
}

// ID is the store id the facts were made from.
func (f *Facts) ID() string { return f.id }

// Values returns the values a key has for this store (read-only), and
// whether the key is known. Absent keys have no values.
func (f *Facts) Values(name string) ([]string, bool) {
	k, label, ok := parseKey(name)
	switch {
	case !ok:
		return nil, false
	case k == keyLabel:
		if v, ok := f.labels[label]; ok {
			return []string{v}, true
		}
		return nil, true
	}
	return f.vals[k], true
}

// geoPrefixes lists every prefix of a geography path that ends at a
// segment boundary: "us/ne/ny" -> us, us/ne, us/ne/ny. The prefixes are
// substrings of path, so only the slice is allocated.
func geoPrefixes(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(path, "/")+1)
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && i > 0 && path[i-1] != '/' {
			out = append(out, path[:i])
		}
	}
	return append(out, path)
}

// normalise returns the non-empty values sorted and without duplicates,
// reusing vals when it already is.
func normalise(vals []string) []string {
	clean := true
	for i, v := range vals {
		if v == "" || (i > 0 && vals[i-1] >= v) {
			clean = false
			break
		}
	}
	if clean {
		if len(vals) == 0 {
			return nil
		}
		return vals[:len(vals):len(vals)]
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
