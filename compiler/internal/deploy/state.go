package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// StateSchema is the version of the state.json format this package writes.
// Schema 1 (a ring and 20 app → variant pairs on every store line) and 2
// (stores grouped into profiles, no rollouts) are still read; schema 3 adds
// each app's rollout across the rings.
const StateSchema = 3

// StatePath is where the state lives inside the deploy tree.
const StatePath = ".fleetc/state.json"

// DecisionsPath is where a compile records its decisions inside the deploy
// tree (decisions.jsonl: grouped lines, one per set of stores with equal
// decisions). Compile writes it; publish and signoff read it.
const DecisionsPath = ".fleetc/decisions.jsonl"

// State is what every store runs and the spec of every variant it runs.
// It is written to .fleetc/state.json so a compile never reads the rendered
// tree back to learn the previous state.
type State struct {
	Schema   int                    `json:"schema"`
	Variants map[string]*Variant    `json:"variants"` // by variant id
	Stores   map[string]*StoreState `json:"stores"`   // by store id
	// Rollouts is each app's walk through the rings (the rollout stage
	// reads and writes it); nil or missing apps in states older than
	// schema 3.
	Rollouts map[string]*Rollout `json:"rollouts,omitempty"`
	// Halts are the stop-the-line halts in force after the compile, by
	// id (compiler/internal/guard): a halt stays in force until a compile
	// whose sign-off accepts its lift.
	Halts map[string]*HaltRecord `json:"halts,omitempty"`
}

// HaltRecord is a halt in force: what it stops (empty = all), why, who
// stopped the line and when.
type HaltRecord struct {
	Apps   []string `json:"apps,omitempty"`
	Rings  []string `json:"rings,omitempty"`
	Reason string   `json:"reason"`
	Ticket string   `json:"ticket"`
	By     string   `json:"by"`
	Since  string   `json:"since"`
}

// Rollout is one app's walk of its current target through the rings.
type Rollout struct {
	// Target is the version being rolled out and Revision a hash of
	// everything stores receive with it (the app's variants at that
	// version): new values start a new walk like a new version.
	Target   string    `json:"target"`
	Revision string    `json:"revision"`
	Started  time.Time `json:"started"`
	// Rings in ring order, each with what it runs and when it moved.
	Rings []RingRollout `json:"rings"`
	// Halted is set when a ring exceeded its failure budget: no further
	// ring receives Target.
	Halted *Halt `json:"halted,omitempty"`
}

// RingRollout is one ring's progress on a rollout.
type RingRollout struct {
	Ring string `json:"ring"`
	// Opened is when the ring was first allowed the target; nil while it
	// waits for the ring before it.
	Opened *time.Time `json:"opened,omitempty"`
	// Met is when the ring first met its gate (applied and Ready on
	// enough stores, failures within budget); bake time counts from here.
	Met *time.Time `json:"met,omitempty"`
	// LastKnownGood is the last version that met this ring's gate.
	LastKnownGood string `json:"lastKnownGood,omitempty"`
}

// Halt records why a rollout stopped.
type Halt struct {
	Ring    string    `json:"ring"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
	Failing []string  `json:"failing,omitempty"` // "store: reason", sorted
}

// Variant is one rendered form of an app: a version with its source,
// namespace and merged values. Its id is "<app>@<version>-<hash>"; stores
// that run the same variant share one release directory.
type Variant struct {
	App       string          `json:"app"`
	Version   string          `json:"version"`
	Namespace string          `json:"namespace"`
	Source    model.AppSource `json:"source"`
	DependsOn []string        `json:"dependsOn,omitempty"`
	Values    map[string]any  `json:"values,omitempty"`
	Health    *model.Health   `json:"health,omitempty"`
}

// StoreState is what one store runs.
//
// ReadState gives the stores of one profile the same Apps map: treat the
// maps of a read state as read-only.
type StoreState struct {
	Ring string            `json:"ring"`
	Apps map[string]string `json:"apps"` // app id -> variant id
	// Profile names the stores that run the same apps in the same ring
	// (profiles/<name>/ in the deploy tree). AssignProfiles sets it; empty
	// means not assigned yet.
	Profile string `json:"-"`
	// Hold is what the store's agent enforces (settings.agent.enforceWindows;
	// nil otherwise, so a fleet without it carries nothing per store).
	Hold *Hold `json:"-"`
}

// Hold is a store's window enforcement as the gate decided it.
type Hold struct {
	// Unheld lists the variants (ids, sorted) a compile let through
	// while the store was outside its window or frozen (an override) and
	// that the store still runs: its agent must not hold them back either
	// (docs/agent.md, "Window enforcement"). state.json keeps them in
	// "unheld".
	Unheld []string
	// Window and Freezes: the window's text (internal/window) and the
	// freezes that hold every app.
	Window, Freezes string
}

// NewState returns an empty state of the current schema.
func NewState() *State {
	return &State{Schema: StateSchema, Variants: map[string]*Variant{}, Stores: map[string]*StoreState{}}
}

// ReadState reads DIR/.fleetc/state.json. A missing file gives an empty
// state; a file that does not decode is an error naming the file. Numbers
// in values decode as json.Number so they round-trip exactly.
func ReadState(dir string) (*State, error) {
	name := filepath.Join(dir, filepath.FromSlash(StatePath))
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	st, err := ParseState(data)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", name, err)
	}
	return st, nil
}

// ParseState decodes state.json content, schema 1, 2 or 3.
func ParseState(data []byte) (*State, error) {
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var st *State
	var err error
	switch head.Schema {
	case 1:
		st = &State{}
		err = decodeStrict(data, st)
	case 2, 3:
		st, err = parseSchema2(data)
	default:
		return nil, fmt.Errorf("unsupported schema %d (want 1 to %d)", head.Schema, StateSchema)
	}
	if err != nil {
		return nil, err
	}
	st.Schema = StateSchema
	if st.Variants == nil {
		st.Variants = map[string]*Variant{}
	}
	if st.Stores == nil {
		st.Stores = map[string]*StoreState{}
	}
	for id, v := range st.Variants {
		if v == nil {
			return nil, fmt.Errorf("variant %q: null entry", id)
		}
	}
	checked := map[*StoreState]bool{}
	for id, s := range st.Stores {
		if s == nil {
			return nil, fmt.Errorf("store %q: null entry", id)
		}
		if checked[s] {
			continue
		}
		checked[s] = true
		if s.Apps == nil { // a schema 1 store without apps (found by FuzzParseState)
			s.Apps = map[string]string{}
		}
		for app, vid := range s.Apps {
			if _, ok := st.Variants[vid]; !ok {
				return nil, fmt.Errorf("store %q app %q: unknown variant %q", id, app, vid)
			}
		}
	}
	return st, nil
}

// stateFile2 is schema 2 and 3 on disk: stores name a profile; schema 3
// adds rollouts.
type stateFile2 struct {
	Schema   int                    `json:"schema"`
	Variants map[string]*Variant    `json:"variants"`
	Profiles map[string]*StoreState `json:"profiles"`
	Stores   map[string]string      `json:"stores"` // store id -> profile name
	Rollouts map[string]*Rollout    `json:"rollouts,omitempty"`
	// Unheld: store id -> StoreState.Unheld; written only when some store
	// has one (a fleet with settings.agent.enforceWindows and an override).
	Unheld map[string][]string `json:"unheld,omitempty"`
	// Halts: State.Halts; written only when a halt is in force.
	Halts map[string]*HaltRecord `json:"halts,omitempty"`
}

func parseSchema2(data []byte) (*State, error) {
	var f stateFile2
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	st := &State{Variants: f.Variants, Stores: make(map[string]*StoreState, len(f.Stores)), Rollouts: f.Rollouts, Halts: f.Halts}
	for app, r := range f.Rollouts {
		if r == nil {
			return nil, fmt.Errorf("rollout %q: null entry", app)
		}
	}
	for id, h := range f.Halts {
		if h == nil {
			return nil, fmt.Errorf("halt %q: null entry", id)
		}
	}
	for name, p := range f.Profiles {
		if p == nil {
			return nil, fmt.Errorf("profile %q: null entry", name)
		}
		if p.Apps == nil {
			p.Apps = map[string]string{}
		}
	}
	for id, name := range f.Stores {
		p := f.Profiles[name]
		if p == nil {
			return nil, fmt.Errorf("store %q: unknown profile %q", id, name)
		}
		st.Stores[id] = &StoreState{Ring: p.Ring, Apps: p.Apps, Profile: name}
	}
	for id, vids := range f.Unheld {
		s := st.Stores[id]
		if s == nil {
			return nil, fmt.Errorf("unheld: unknown store %q", id)
		}
		for _, vid := range vids {
			if _, ok := st.Variants[vid]; !ok {
				return nil, fmt.Errorf("unheld: store %q: unknown variant %q", id, vid)
			}
		}
		s.Hold = &Hold{Unheld: vids}
	}
	return st, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return errors.New("decode: trailing data after the state object")
	}
	return nil
}

// Marshal encodes the state deterministically as schema 3: keys sorted,
// one line per variant, one per profile (ring and app → variant pairs), one
// per store naming its profile and one per app's rollout, so a git diff of
// state.json shows which stores changed and which rings moved. Stores without a profile name get one (AssignProfiles
// with no previous state). At 60,000 stores × 20 apps this is a few MB
// where schema 1 repeated 20 pairs on every store line (~40 MB).
func (s *State) Marshal() ([]byte, error) {
	for _, ss := range s.Stores {
		if ss.Profile == "" {
			s.AssignProfiles(nil)
			break
		}
	}
	profiles := map[string]*StoreState{}
	stores := make(map[string]string, len(s.Stores))
	var unheld map[string][]string // only stores with marks
	for id, ss := range s.Stores {
		stores[id] = ss.Profile
		if ss.Hold != nil && len(ss.Hold.Unheld) > 0 {
			if unheld == nil {
				unheld = map[string][]string{}
			}
			unheld[id] = ss.Hold.Unheld
		}
		p := profiles[ss.Profile]
		if p == nil {
			profiles[ss.Profile] = &StoreState{Ring: ss.Ring, Apps: ss.Apps}
			continue
		}
		if p.Ring != ss.Ring || !sameApps(p.Apps, ss.Apps) {
			return nil, fmt.Errorf("marshal state: store %q differs from the other stores of profile %q", id, ss.Profile)
		}
	}
	var b bytes.Buffer
	b.Grow(64 + len(s.Stores)*40 + len(profiles)*(32+40*8))
	fmt.Fprintf(&b, "{\"schema\":%d,\n\"variants\":{", StateSchema)
	if err := writeLines(&b, s.Variants); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	b.WriteString("},\n\"profiles\":{")
	if err := writeLines(&b, profiles); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	b.WriteString("},\n\"stores\":{")
	if err := writeLines(&b, stores); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	b.WriteString("},\n\"rollouts\":{")
	if err := writeLines(&b, s.Rollouts); err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	b.WriteString("}")
	if len(unheld) > 0 {
		b.WriteString(",\n\"unheld\":{")
		if err := writeLines(&b, unheld); err != nil {
			return nil, fmt.Errorf("marshal state: %w", err)
		}
		b.WriteString("}")
	}
	if len(s.Halts) > 0 {
		b.WriteString(",\n\"halts\":{")
		if err := writeLines(&b, s.Halts); err != nil {
			return nil, fmt.Errorf("marshal state: %w", err)
		}
		b.WriteString("}")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func sameApps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// writeLines writes "\n\"key\":value," for every entry in key order.
func writeLines[V any](b *bytes.Buffer, m map[string]V) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
		kb, err := json.Marshal(k)
		if err != nil {
			return err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m[k])
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		b.Write(vb)
	}
	if len(keys) > 0 {
		b.WriteByte('\n')
	}
	return nil
}

// SplitVariantID splits "<app>@<version>-<hash>" into app, version and the
// directory name "<version>-<hash>". ok is false when id has another shape.
func SplitVariantID(id string) (app, version, dir string, ok bool) {
	app, dir, found := strings.Cut(id, "@")
	if !found || app == "" {
		return "", "", "", false
	}
	i := strings.LastIndexByte(dir, '-')
	if i <= 0 || i == len(dir)-1 {
		return "", "", "", false
	}
	return app, dir[:i], dir, true
}

// VariantVersion is the version of variant id, from the state when it is
// known there and from the id otherwise.
func (s *State) VariantVersion(id string) string {
	if v := s.Variants[id]; v != nil {
		return v.Version
	}
	_, version, _, _ := SplitVariantID(id)
	return version
}

// StoreIDs returns the store ids in sorted order.
func (s *State) StoreIDs() []string {
	ids := make([]string, 0, len(s.Stores))
	for id := range s.Stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ReadTail reads only the last sections of DIR/.fleetc/state.json, the
// rollouts and the halts in force, found without decoding the rest
// (explain reads one store; the whole state is megabytes at fleet scale),
// from one read of the file. A missing file, or a state older than schema
// 3, gives nil rollouts; a state without halts nil halts.
func ReadTail(dir string) (map[string]*Rollout, map[string]*HaltRecord, error) {
	name := filepath.Join(dir, filepath.FromSlash(StatePath))
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	var rollouts map[string]*Rollout
	var halts map[string]*HaltRecord
	if err := section(data, "rollouts", &rollouts); err != nil {
		return nil, nil, fmt.Errorf("read state %s: %w", name, err)
	}
	if err := section(data, "halts", &halts); err != nil {
		return nil, nil, fmt.Errorf("read state %s: %w", name, err)
	}
	return rollouts, halts, nil
}

// section decodes the top-level section key of a state Marshal wrote
// (each starts a line) into v; v stays nil when there is none. A section
// is followed by others or the state object's own brace: one value is
// decoded.
func section(data []byte, key string, v any) error {
	marker := "\n\"" + key + "\":"
	i := bytes.LastIndex(data, []byte(marker))
	if i < 0 {
		return nil
	}
	if err := json.NewDecoder(bytes.NewReader(data[i+len(marker):])).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
