package publish

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/render"
)

// Report is what a publish describes: the plan from the base branch's
// state to the deploy tree's, and the decisions of the compile that wrote
// the tree. Subject, CommitMessage and Body render it.
type Report struct {
	Plan      *deploy.Plan
	Verdicts  *gate.Summary
	Decisions []gate.Decision
	// Rings are the rings of either state in rollout order with their
	// store counts. The state does not record ring order; rollouts grow
	// from small rings to large ones, so rings are ordered by size, then
	// by name.
	Rings []RingSize
	// Zones maps a store to its IANA timezone where known (the stores a
	// deferral summary names); other times are shown in UTC.
	Zones map[string]string
}

// RingSize is one ring with its number of stores and how many of them the
// plan touches.
type RingSize struct {
	Ring    string
	Stores  int
	Touched int
}

// NewReport diffs base (the base branch's state; nil for none) against
// next (the deploy tree's) and groups the decisions. zone, when not nil,
// returns a store's timezone ("" when unknown); it is asked only for the
// stores the deferral summary names.
func NewReport(base, next *deploy.State, decisions []gate.Decision, zone func(store string) string) *Report {
	if base == nil {
		base = deploy.NewState()
	}
	if next == nil {
		next = deploy.NewState()
	}
	r := &Report{
		Plan:      deploy.Diff(base, next),
		Verdicts:  gate.Summarize(decisions, &model.Fleet{}),
		Decisions: decisions,
		Zones:     map[string]string{},
	}
	r.Rings = ringSizes(base, next, r.Plan)
	order := map[string]int{}
	for i, rs := range r.Rings {
		order[rs.Ring] = i
	}
	for i := range r.Plan.Summary.Apps {
		slices.SortStableFunc(r.Plan.Summary.Apps[i].Rings, func(a, b deploy.RingSummary) int {
			return cmp.Compare(order[a.Ring], order[b.Ring])
		})
	}
	if zone != nil {
		for _, store := range r.namedDeferredStores() {
			if z := zone(store); z != "" {
				r.Zones[store] = z
			}
		}
	}
	return r
}

// ringSizes counts stores per ring (new ring; old ring for removed stores)
// and the touched ones, ordered by size then name.
func ringSizes(base, next *deploy.State, p *deploy.Plan) []RingSize {
	size := map[string]int{}
	for _, s := range next.Stores {
		size[s.Ring]++
	}
	for id, s := range base.Stores {
		if next.Stores[id] == nil {
			size[s.Ring]++
		}
	}
	touched := map[string]map[string]bool{}
	mark := func(ring, store string) {
		if touched[ring] == nil {
			touched[ring] = map[string]bool{}
		}
		touched[ring][store] = true
	}
	for _, c := range p.Changes {
		mark(c.Ring, c.Store)
	}
	for _, id := range p.StoresAdded {
		mark(next.Stores[id].Ring, id)
	}
	for _, id := range p.StoresRemoved {
		mark(base.Stores[id].Ring, id)
	}
	for _, m := range p.RingMoves {
		mark(m.To, m.Store)
	}
	out := make([]RingSize, 0, len(size))
	for ring, n := range size {
		out = append(out, RingSize{Ring: ring, Stores: n, Touched: len(touched[ring])})
	}
	slices.SortFunc(out, func(a, b RingSize) int {
		return cmp.Or(cmp.Compare(a.Stores, b.Stores), cmp.Compare(a.Ring, b.Ring))
	})
	return out
}

// namedDeferredStores are the stores whose local time the body shows: the
// earliest store of each defer rule.
func (r *Report) namedDeferredStores() []string {
	var out []string
	for _, rs := range r.Verdicts.Rules {
		if rs.Verdict == policy.Defer && rs.NextStore != "" && !slices.Contains(out, rs.NextStore) {
			out = append(out, rs.NextStore)
		}
	}
	return out
}

// local formats t in store's zone when known, else in UTC.
func (r *Report) local(t time.Time, store string) string {
	if z := r.Zones[store]; z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return t.In(loc).Format("2006-01-02 15:04") + " " + z
		}
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// ReadDecisions reads DIR/.fleetc/decisions.jsonl. A missing file gives no
// decisions; a line that does not decode is an error naming its line. The
// file is streamed. Either format is read: a line per group of stores, or
// a line per decision as older fleetc wrote (see gate.DecodeJSONL).
func ReadDecisions(dir string) ([]gate.Decision, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(deploy.DecisionsPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	defer f.Close()
	return DecodeDecisions(f)
}

// ParseDecisions decodes decisions.jsonl content.
func ParseDecisions(data []byte) ([]gate.Decision, error) {
	return DecodeDecisions(bytes.NewReader(data))
}

// DecodeDecisions reads decisions.jsonl from r: one decision per (store,
// app) pair, in store then app order, whatever the order of the lines.
// The decisions of one line share their slices.
func DecodeDecisions(r io.Reader) ([]gate.Decision, error) {
	return gate.DecodeJSONL(r)
}

// StoreZone returns a function that finds a store's timezone in the deploy
// tree dir: the FLEETC_TIMEZONE_RAW literal of clusters/<store>/
// kustomization.yaml (what render writes), else an IANA zone named in one
// of the store's decision messages (window rules name it), else "".
func StoreZone(dir string, decisions []gate.Decision) func(store string) string {
	return func(store string) string {
		if z := zoneFromEntryPoint(filepath.Join(dir, "clusters", store, "kustomization.yaml")); z != "" {
			return z
		}
		for i := range decisions {
			if decisions[i].Store != store {
				continue
			}
			for _, rs := range decisions[i].Reasons {
				if z := zoneInText(rs.Msg); z != "" {
					return z
				}
			}
		}
		return ""
	}
}

// zoneFromEntryPoint reads "- FLEETC_TIMEZONE_RAW=<zone>" from a store's
// entry point.
func zoneFromEntryPoint(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "- "+render.VarTimezoneRaw+"="); ok {
			if _, err := time.LoadLocation(v); err == nil && v != "" {
				return v
			}
		}
	}
	return ""
}

// zoneInText finds the first word of s that is an IANA zone name with an
// area ("America/Los_Angeles").
func zoneInText(s string) string {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '(' || r == ')' || r == ';'
	}) {
		if !strings.Contains(w, "/") || path.IsAbs(w) || strings.Contains(w, ":") {
			continue
		}
		if _, err := time.LoadLocation(w); err == nil {
			return w
		}
	}
	return ""
}
