package gen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/fleetc/fleetc/policies"
	"github.com/fleetc/fleetc/schemas"
)

// Options size the synthetic fleet. Zero values take the defaults.
type Options struct {
	Stores int // number of stores (at least 1)
	Apps   int // number of apps (0 is allowed)
	Rings  int // default 5: lab, canary, pilot, wave-1, chain
	// Groups is the number of business groups (geography, franchisee,
	// devices, delivery, planogram, marketing); default 30. Ring cohort
	// groups come on top.
	Groups        int
	Seed          int64
	StoresPerFile int // default 1000
}

// Stats describe what Generate wrote.
type Stats struct {
	Stores, Groups, Apps, Rings int
	Files                       int
	Bytes                       int64
	RingSizes                   []RingSize // in ring order
}

// RingSize is how many stores a generated ring holds.
type RingSize struct {
	Name   string
	Stores int
}

// ErrExists means the output directory already holds something Generate
// would write; Generate never overwrites or mixes fleets.
var ErrExists = errors.New("output already exists")

// generatedPaths are the top-level entries Generate writes.
var generatedPaths = []string{"schemas", "fleet.cue", "inventory", "apps", "rings", "policies"}

func (o Options) withDefaults() (Options, error) {
	if o.Stores < 1 {
		return o, fmt.Errorf("gen: stores must be at least 1, got %d", o.Stores)
	}
	if o.Apps < 0 || o.Rings < 0 || o.Groups < 0 || o.StoresPerFile < 0 {
		return o, fmt.Errorf("gen: negative option in %+v", o)
	}
	if o.Rings == 0 {
		o.Rings = 5
	}
	if o.Groups == 0 {
		o.Groups = 30
	}
	if o.StoresPerFile == 0 {
		o.StoresPerFile = 1000
	}
	return o, nil
}

// plan is the whole fleet in memory, before writing.
type plan struct {
	opts   Options
	stores []*genStore
	groups []*genGroup
	apps   []*genApp
	rings  []*genRing

	storeFileCount map[string]int // per area, while writing
}

func newPlan(opts Options) *plan {
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x666c656574632d67)) // "fleetc-g"
	p := &plan{opts: opts, storeFileCount: map[string]int{}}
	firstApp := ""
	if opts.Apps > 0 {
		firstApp = appCatalog[0].id
	}
	p.stores = makeStores(rng, opts.Stores, firstApp)
	p.rings = makeRings(opts.Rings)
	assignRings(rng, p.rings, p.stores)
	p.groups = makeGroups(rng, opts.Groups, p.stores)
	ringNames := make([]string, len(p.rings))
	for i, r := range p.rings {
		ringNames[i] = r.name
	}
	p.apps = makeApps(rng, opts.Apps, p.groups, ringNames)
	return p
}

// Generate writes a complete synthetic monorepo into dir: schemas/ and
// policies/ (copies of the embedded defaults), fleet.cue, inventory/
// (stores and groups), apps/ and rings/. The same
// Options give byte-identical output. dir may exist but must not already
// hold any of those entries.
func Generate(dir string, opts Options) (Stats, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	for _, p := range generatedPaths {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			return Stats{}, fmt.Errorf("gen: %s: %w", filepath.Join(dir, p), ErrExists)
		}
	}
	p := newPlan(opts)
	out := &output{dir: dir}
	if err := out.copyFS("schemas", schemas.FS); err != nil {
		return Stats{}, err
	}
	if err := out.copyFS("policies", policies.FS); err != nil {
		return Stats{}, err
	}
	p.write(out)
	if out.err != nil {
		return Stats{}, out.err
	}
	st := Stats{
		Stores: len(p.stores), Groups: len(p.groups) + 1, Apps: len(p.apps), Rings: len(p.rings),
		Files: out.files, Bytes: out.bytes,
	}
	if len(p.rings) < 3 {
		st.Groups-- // no ring-canary group
	}
	for _, r := range p.rings {
		st.RingSizes = append(st.RingSizes, RingSize{r.name, r.stores})
	}
	return st, nil
}

// write emits every fleet file.
func (p *plan) write(out *output) {
	out.file("fleet.cue", "Fleet-wide settings: the Flux source and the default deployment window.", func(w *cueWriter) {
		w.WriteString("settings: {\n")
		w.fields(1, obj{
			{"deployRepoSource", "flux-system"},
			{"window", obj{{"afterClose", "30m"}, {"beforeOpen", "60m"}}},
		})
		w.WriteString("}\n")
	})

	// Stores by area, then id; files of at most StoresPerFile per area.
	stores := slices.Clone(p.stores)
	slices.SortFunc(stores, func(a, b *genStore) int {
		if a.metro.country != b.metro.country {
			return -cmpString(a.metro.country, b.metro.country) // US first
		}
		if c := cmpString(a.metro.geoArea, b.metro.geoArea); c != 0 {
			return c
		}
		return cmpString(a.id, b.id)
	})
	for i := 0; i < len(stores); {
		area := stores[i].metro
		j := i
		for j < len(stores) && stores[j].metro.geoArea == area.geoArea && j-i < p.opts.StoresPerFile {
			j++
		}
		chunk := stores[i:j]
		p.storeFileCount[area.geoArea]++
		name := fmt.Sprintf("inventory/stores/%s-%s-%03d.cue", lower(area.country), area.geoArea, p.storeFileCount[area.geoArea])
		out.file(name, "Synthetic stores in "+area.geoArea+" ("+strconv.Itoa(len(chunk))+"), hours shared through the hidden _hours.", func(w *cueWriter) {
			writeHours(w)
			w.WriteString("stores: {\n")
			for _, s := range chunk {
				w.indent(1)
				w.label(s.id)
				w.WriteString(": ")
				w.block(1, storeFields(s))
				w.WriteByte('\n')
			}
			w.WriteString("}\n")
		})
		i = j
	}

	for _, kind := range groupKinds {
		var gs []*genGroup
		for _, g := range p.groups {
			if g.kind == kind {
				gs = append(gs, g)
			}
		}
		if len(gs) == 0 {
			continue
		}
		out.file("inventory/groups/"+kind+".cue", "Synthetic "+kind+" groups.", func(w *cueWriter) { w.groups(gs) })
	}

	for _, a := range p.apps {
		out.file("apps/"+a.id+".cue", "Synthetic app "+a.id+": "+a.description+".", func(w *cueWriter) { w.app(a) })
	}

	out.file("rings/rings.cue", "Rings and their cohorts; every store is in exactly one ring.", func(w *cueWriter) {
		w.ringFile(p.rings, p.stores)
	})
	firstApp := ""
	if len(p.apps) > 0 {
		firstApp = p.apps[0].id
	}
	out.file("rings/calendar.cue", "The peak-trading freeze, an override and the teams.", func(w *cueWriter) {
		w.calendarFile(firstApp)
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeHours writes the hidden opening-hour profiles stores refer to.
func writeHours(w *cueWriter) {
	var o obj
	for _, h := range hourProfiles {
		o = append(o, field{h.name, h.days})
	}
	w.fields(0, obj{{"_hours", o}})
	w.WriteByte('\n')
}

// output writes files under dir, keeping the first error and the totals.
type output struct {
	dir   string
	err   error
	files int
	bytes int64
	buf   *bufio.Writer
}

// file writes one fleet file: a comment, the package clause and a body.
func (o *output) file(name, comment string, body func(w *cueWriter)) {
	if o.err != nil {
		return
	}
	path := filepath.Join(o.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		o.err = fmt.Errorf("gen: %w", err)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		o.err = fmt.Errorf("gen: %w", err)
		return
	}
	cw := &countWriter{w: f}
	if o.buf == nil {
		o.buf = bufio.NewWriterSize(cw, 256<<10)
	} else {
		o.buf.Reset(cw)
	}
	w := &cueWriter{Writer: o.buf}
	w.WriteString("// ")
	w.WriteString(comment)
	w.WriteString("\npackage fleet\n\n")
	body(w)
	err = o.buf.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		o.err = fmt.Errorf("gen: write %s: %w", name, err)
		return
	}
	o.files++
	o.bytes += cw.n
}

// copyFS copies an embedded tree under dir/sub.
func (o *output) copyFS(sub string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(o.dir, sub, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("gen: read %s: %w", p, err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		o.files++
		o.bytes += int64(len(b))
		return nil
	})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
