package compiler

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// prevIndex is the previous state (.fleetc/state.json) as explain reads
// it: every store's ring and apps by profile, and every variant's version
// and JSON exactly as the file holds it. It is cached under
// <CacheDir>/state/<sha256 of the file's bytes>, written by Compile for the
// state it writes and by explain when it is missing, so explain takes one
// store and the history the sign-off rules read without decoding the
// whole file (7 MB at 60,000 stores).
type prevIndex struct {
	variants []indexVariant // id order
	profiles []indexProfile
	stores   indexStores
}

// indexStores are the stores in id order. Their ids are substrings of
// one string, so 60,000 stores cost a few allocations, not 60,000.
type indexStores struct {
	ids      string
	idAt     []uint32 // store i's id is ids[idAt[i]:idAt[i+1]]
	profiles []int32
}

func (s *indexStores) len() int { return len(s.profiles) }

func (s *indexStores) id(i int) string { return s.ids[s.idAt[i]:s.idAt[i+1]] }

// find returns the index of store id.
func (s *indexStores) find(id string) (int, bool) {
	i := sort.Search(s.len(), func(i int) bool { return s.id(i) >= id })
	return i, i < s.len() && s.id(i) == id
}

type indexVariant struct {
	id, version string
	raw         []byte // the variant's JSON in state.json
}

// indexProfile is a ring and apps shared by stores: pairs of app id and
// index into variants, in app order.
type indexProfile struct {
	ring string
	apps []indexApp
}

type indexApp struct {
	app     string
	variant int32
}

// stateIndexMagic starts every entry; bump its number when the layout
// changes.
var stateIndexMagic = []byte("fleetc-state-index-2\x00")

// stateIndexKeep is how many state indexes the cache keeps (the newest).
const stateIndexKeep = 8

var errBadIndex = errors.New("corrupt state index")

// newPrevIndex indexes st; raw holds each variant's JSON as written in
// state.json (the same bytes deploy.State.Marshal writes for it).
func newPrevIndex(st *deploy.State, raw map[string][]byte) (*prevIndex, error) {
	ix := &prevIndex{}
	vidx := make(map[string]int32, len(st.Variants))
	for _, id := range slices.Sorted(maps.Keys(st.Variants)) {
		r, ok := raw[id]
		if !ok {
			return nil, fmt.Errorf("variant %q: no JSON", id)
		}
		vidx[id] = int32(len(ix.variants))
		ix.variants = append(ix.variants, indexVariant{id: id, version: st.Variants[id].Version, raw: r})
	}
	profiles := map[string]int32{}
	of := make(map[string]int32, len(st.Stores))
	var key strings.Builder
	for id, ss := range st.Stores {
		apps := slices.Sorted(maps.Keys(ss.Apps))
		key.Reset()
		if ss.Profile != "" {
			key.WriteString("profile\x00" + ss.Profile)
		} else {
			key.WriteString("apps\x00" + ss.Ring)
			for _, app := range apps {
				key.WriteString("\x00" + app + "=" + ss.Apps[app])
			}
		}
		p, ok := profiles[key.String()]
		if !ok {
			p = int32(len(ix.profiles))
			profiles[key.String()] = p
			prof := indexProfile{ring: ss.Ring, apps: make([]indexApp, len(apps))}
			for i, app := range apps {
				v, ok := vidx[ss.Apps[app]]
				if !ok {
					return nil, fmt.Errorf("store %q app %q: unknown variant %q", id, app, ss.Apps[app])
				}
				prof.apps[i] = indexApp{app: app, variant: v}
			}
			ix.profiles = append(ix.profiles, prof)
		}
		of[id] = p
	}
	ids := slices.Sorted(maps.Keys(of))
	var b strings.Builder
	ix.stores.idAt = make([]uint32, 0, len(ids)+1)
	ix.stores.profiles = make([]int32, 0, len(ids))
	for _, id := range ids {
		ix.stores.idAt = append(ix.stores.idAt, uint32(b.Len()))
		ix.stores.profiles = append(ix.stores.profiles, of[id])
		b.WriteString(id)
	}
	ix.stores.idAt = append(ix.stores.idAt, uint32(b.Len()))
	ix.stores.ids = b.String()
	return ix, nil
}

// rawVariants returns each variant's JSON as state.json holds it.
func rawVariants(data []byte) (map[string][]byte, error) {
	var f struct {
		Variants map[string]json.RawMessage `json:"variants"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(f.Variants))
	for id, r := range f.Variants {
		out[id] = r
	}
	return out, nil
}

// state returns the previous state of store id alone: its ring and apps
// and the variants they name, decoded as deploy.ParseState decodes them.
func (ix *prevIndex) state(id string) (*deploy.State, error) {
	st := deploy.NewState()
	i, ok := ix.stores.find(id)
	if !ok {
		return st, nil
	}
	p := ix.profiles[ix.stores.profiles[i]]
	ss := &deploy.StoreState{Ring: p.ring, Apps: make(map[string]string, len(p.apps))}
	for _, a := range p.apps {
		v := ix.variants[a.variant]
		ss.Apps[a.app] = v.id
		if _, done := st.Variants[v.id]; done {
			continue
		}
		var dv deploy.Variant
		dec := json.NewDecoder(bytes.NewReader(v.raw))
		dec.UseNumber()
		if err := dec.Decode(&dv); err != nil {
			return nil, fmt.Errorf("variant %q: %w", v.id, err)
		}
		st.Variants[v.id] = &dv
	}
	st.Stores[id] = ss
	return st, nil
}

// history is what the sign-off rules read of the previous state for a
// store of ring whose jurisdiction holds the stores juris (its country
// and region in the fleet, see load.StoreView): the versions stores of
// the ring ran and the apps stores of the jurisdiction ran, as gate.Run
// indexes them from the whole previous state.
func (ix *prevIndex) history(ring string, j model.Jurisdiction, juris []string) *gate.History {
	h := gate.NewHistory()
	inRing := make([]bool, len(ix.profiles))
	for p, prof := range ix.profiles {
		inRing[p] = prof.ring == ring
	}
	used := make([]bool, len(ix.profiles))
	for _, p := range ix.stores.profiles {
		used[p] = true
	}
	inJuris := make([]bool, len(ix.profiles))
	for _, id := range juris {
		if i, ok := ix.stores.find(id); ok {
			inJuris[ix.stores.profiles[i]] = true
		}
	}
	for p, prof := range ix.profiles {
		for _, a := range prof.apps {
			if inRing[p] && used[p] {
				h.AddRing(ring, a.app, ix.variants[a.variant].version)
			}
			if inJuris[p] {
				h.AddJurisdiction(j, a.app)
			}
		}
	}
	return h
}

// encode writes strings (variant ids, versions, app ids, rings, store
// ids) as uvarint length and bytes, counts and indexes as uvarints:
//
//	variants: count, then id, version, JSON
//	apps:     count, then id (the app keys of the profiles)
//	profiles: count, then ring, app count, then app and variant index
//	stores:   count, then id and profile index
func (ix *prevIndex) encode() []byte {
	var b []byte
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	num := func(n int) { b = binary.AppendUvarint(b, uint64(n)) }
	num(len(ix.variants))
	for _, v := range ix.variants {
		str(v.id)
		str(v.version)
		str(string(v.raw))
	}
	appIdx := map[string]int{}
	var apps []string
	for _, p := range ix.profiles {
		for _, a := range p.apps {
			if _, ok := appIdx[a.app]; !ok {
				appIdx[a.app] = len(apps)
				apps = append(apps, a.app)
			}
		}
	}
	num(len(apps))
	for _, a := range apps {
		str(a)
	}
	num(len(ix.profiles))
	for _, p := range ix.profiles {
		str(p.ring)
		num(len(p.apps))
		for _, a := range p.apps {
			num(appIdx[a.app])
			num(int(a.variant))
		}
	}
	num(ix.stores.len())
	for i := range ix.stores.len() {
		str(ix.stores.id(i))
		num(int(ix.stores.profiles[i]))
	}
	return b
}

func decodePrevIndex(b []byte) (*prevIndex, error) {
	bad := false
	num := func(limit int) int {
		n, k := binary.Uvarint(b)
		if k <= 0 || n >= uint64(limit) {
			bad = true
			b = nil
			return 0
		}
		b = b[k:]
		return int(n)
	}
	raw := func() []byte {
		n := num(math.MaxInt)
		if n > len(b) {
			bad, b = true, nil
			return nil
		}
		out := b[:n:n]
		b = b[n:]
		return out
	}
	str := func() string { return string(raw()) }
	ix := &prevIndex{}
	ix.variants = make([]indexVariant, num(len(b)+1))
	for i := range ix.variants {
		ix.variants[i] = indexVariant{id: str(), version: str(), raw: raw()}
	}
	apps := make([]string, num(len(b)+1))
	for i := range apps {
		apps[i] = str()
	}
	ix.profiles = make([]indexProfile, num(len(b)+1))
	for i := range ix.profiles {
		p := &ix.profiles[i]
		p.ring = str()
		p.apps = make([]indexApp, num(len(b)+1))
		for k := range p.apps {
			a := num(len(apps))
			if bad {
				return nil, errBadIndex
			}
			p.apps[k] = indexApp{app: apps[a], variant: int32(num(len(ix.variants)))}
		}
	}
	n := num(len(b) + 1)
	st := &ix.stores
	st.idAt = make([]uint32, 0, n+1)
	st.profiles = make([]int32, 0, n)
	var ids []byte
	for range n {
		id := raw()
		if len(st.idAt) > 0 && bytes.Compare(id, ids[st.idAt[len(st.idAt)-1]:]) <= 0 {
			bad = true // not in id order
		}
		st.idAt = append(st.idAt, uint32(len(ids)))
		ids = append(ids, id...)
		st.profiles = append(st.profiles, int32(num(len(ix.profiles))))
	}
	st.idAt = append(st.idAt, uint32(len(ids)))
	st.ids = string(ids)
	if bad || len(b) != 0 {
		return nil, errBadIndex
	}
	return ix, nil
}

func stateIndexPath(cacheDir string, key [32]byte) string {
	return filepath.Join(cacheDir, "state", hex.EncodeToString(key[:]))
}

// readPrevIndex returns the cached index of the state whose bytes hash to
// key; anything unreadable, truncated or not matching its checksum is a
// miss.
func readPrevIndex(cacheDir string, key [32]byte) (*prevIndex, bool) {
	b, err := os.ReadFile(stateIndexPath(cacheDir, key))
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(b, stateIndexMagic)
	if !ok || len(rest) < 64 || !bytes.Equal(rest[:32], key[:]) {
		return nil, false
	}
	payload := rest[64:]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], rest[32:64]) {
		return nil, false
	}
	ix, err := decodePrevIndex(payload)
	return ix, err == nil
}

// writePrevIndex stores ix under key (a temporary file renamed into
// place) and removes all but the newest stateIndexKeep indexes. A cache
// that cannot be written only costs time: errors are for tests.
func writePrevIndex(cacheDir string, key [32]byte, ix *prevIndex) error {
	payload := ix.encode()
	sum := sha256.Sum256(payload)
	p := stateIndexPath(cacheDir, key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(slices.Concat(stateIndexMagic, key[:], sum[:], payload))
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	return pruneStateIndexes(dir, filepath.Base(p))
}

// pruneStateIndexes keeps the newest stateIndexKeep entries of dir (and
// always keep, the one just written).
func pruneStateIndexes(dir, keep string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type entry struct {
		name string
		mod  int64
	}
	var es []entry
	for _, e := range ents {
		if e.Name() == keep || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			es = append(es, entry{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	if len(es) < stateIndexKeep {
		return nil
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Or(cmp.Compare(b.mod, a.mod), cmp.Compare(a.name, b.name)) })
	var errs []error
	for _, e := range es[stateIndexKeep-1:] {
		if err := os.Remove(filepath.Join(dir, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// indexWrittenState caches the index of the state Compile just wrote
// (data are the bytes of .fleetc/state.json, st the state they encode),
// so the next explain against it finds it.
func indexWrittenState(cacheDir string, data []byte, st *deploy.State) error {
	raw := make(map[string][]byte, len(st.Variants))
	for id, v := range st.Variants {
		b, err := json.Marshal(v) // as deploy.State.Marshal writes it
		if err != nil {
			return err
		}
		raw[id] = b
	}
	ix, err := newPrevIndex(st, raw)
	if err != nil {
		return err
	}
	return writePrevIndex(cacheDir, sha256.Sum256(data), ix)
}
