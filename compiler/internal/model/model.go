package model

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// Fleet is everything the monorepo declares, validated and indexed.
// Slices are sorted by their natural key (id, name, ring order) so every
// walk over the fleet is deterministic.
type Fleet struct {
	Settings  Settings
	Stores    []*Store
	Groups    []*Group
	Apps      []*App
	Rings     []*Ring
	Freezes   []*Freeze
	Windows   []*Window
	Overrides []*Override
	Halts     []*Halt
	Teams     []*Team

	StoreByID map[string]*Store
	GroupByID map[string]*Group
	AppByID   map[string]*App
	RingByID  map[string]*Ring
	TeamByID  map[string]*Team
}

// Settings are fleet-wide knobs declared once (fleet.cue at the root).
type Settings struct {
	// Name of the Flux GitRepository in each store's flux-system namespace
	// that points at the deploy repo (what `flux bootstrap` created).
	DeployRepoSource string `json:"deployRepoSource"`
	// Default deployment window derived from opening hours.
	Window WindowDefaults `json:"window"`
	// How the rollout stage reads feedback.
	Rollout RolloutSettings `json:"rollout"`
	// What the stores' fleetc-agent does.
	Agent AgentSettings `json:"agent"`
	// The mass-change guard and stop-the-line halts (docs/guards.md).
	Guard GuardSettings `json:"guard"`
}

// GuardSettings: a compile that removes apps from, or stops rendering,
// more stores than MassChange allows fails unless a mass-change override
// carries MassChange.Signoff; a halt removed from the fleet is lifted
// only with HaltLiftSignoff (docs/guards.md).
type GuardSettings struct {
	MassChange      MassChangeSettings `json:"massChange"`
	HaltLiftSignoff []string           `json:"haltLiftSignoff"`
}

// MassChangeSettings: the guard trips when more than max(Floor,
// Share × stores) stores would lose an app or stop being rendered, overall
// or for one app (Share of the stores that ran it).
type MassChangeSettings struct {
	Share   float64  `json:"share"`
	Floor   int      `json:"floor"`
	Signoff []string `json:"signoff"`
}

// AgentSettings: with EnforceWindows the deploy tree makes every store's
// window-gated changes wait for its window even when the merge or the
// store's connection comes late; the store's fleetc-agent opens and
// closes the gate (docs/agent.md, "Window enforcement").
type AgentSettings struct {
	EnforceWindows bool `json:"enforceWindows"`
}

// RolloutSettings: a report older than StaleAfter is offline; a ring with
// less than MinCoverage of its stores reporting waits.
type RolloutSettings struct {
	StaleAfter  Duration `json:"staleAfter"`
	MinCoverage float64  `json:"minCoverage"`
}

// WindowDefaults derive a store's window from its opening hours: the store
// may change from AfterClose past closing until BeforeOpen before opening.
type WindowDefaults struct {
	AfterClose Duration `json:"afterClose"`
	BeforeOpen Duration `json:"beforeOpen"`
}

// Store is one edge cluster.
type Store struct {
	ID           string                    `json:"id"`
	Name         string                    `json:"name"`
	Geo          string                    `json:"geo"` // e.g. us/northeast/ny/albany
	Timezone     string                    `json:"timezone"`
	Hours        map[string]DayHours       `json:"hours"` // mon..sun; absent day = closed
	Jurisdiction Jurisdiction              `json:"jurisdiction"`
	Attributes   Attributes                `json:"attributes"`
	Cluster      Cluster                   `json:"cluster"`
	Pause        *Pause                    `json:"pause,omitempty"`
	Agent        *Agent                    `json:"agent,omitempty"`
	Values       map[string]map[string]any `json:"values,omitempty"` // per-app store overrides

	Pos  diag.Pos `json:"-"` // where the store is declared
	Refs []Ref    `json:"-"`
}

// DayHours are one day's opening hours, "HH:MM" local time. Close at or
// before Open means the store closes after midnight.
type DayHours struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// Jurisdiction is where laws apply.
type Jurisdiction struct {
	Country string `json:"country"`          // ISO 3166-1 alpha-2, e.g. US, CA
	Region  string `json:"region,omitempty"` // state or province code, e.g. IL, QC
	City    string `json:"city,omitempty"`
}

// Attributes are what selectors match on besides geography and groups.
type Attributes struct {
	Owner            string            `json:"owner"` // corporate | franchise
	Franchisee       string            `json:"franchisee,omitempty"`
	Format           string            `json:"format,omitempty"` // e.g. small, standard, large, kiosk
	DriveThruLanes   int               `json:"driveThruLanes"`
	Devices          []string          `json:"devices,omitempty"`
	DeliveryPartners []string          `json:"deliveryPartners,omitempty"`
	Languages        []string          `json:"languages,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
}

// Cluster describes the store's k3s cluster.
type Cluster struct {
	Nodes       int    `json:"nodes"`
	K3sVersion  string `json:"k3sVersion,omitempty"`
	FluxVersion string `json:"fluxVersion,omitempty"`
}

// Agent is the store's fleetc-agent identity.
type Agent struct {
	PublicKey string `json:"publicKey"` // "ed25519:<base64>", see agent/report
}

// Pause holds a store at what it runs now.
type Pause struct {
	Reason string `json:"reason"`
	Until  string `json:"until,omitempty"` // RFC 3339; empty = until removed
}

// Group is a named, possibly overlapping set of stores: the union of an
// explicit list, geography prefixes and a selector.
type Group struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Kind        string    `json:"kind,omitempty"` // geography, franchisee, devices, ...
	Stores      []string  `json:"stores,omitempty"`
	Geo         []string  `json:"geo,omitempty"`
	Selector    *Selector `json:"selector,omitempty"`
	// Window, when set, replaces the hours-derived window of its stores.
	Window *GroupWindow `json:"window,omitempty"`

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// GroupWindow is a weekly local-time window set for a whole group.
type GroupWindow struct {
	Days  []string `json:"days"`  // mon..sun
	Start string   `json:"start"` // HH:MM local
	End   string   `json:"end"`   // HH:MM local; at or before Start = crosses midnight
}

// Selector is Kubernetes-style: terms are ORed, requirements in a term ANDed.
// A nil *Selector matches every store.
type Selector struct {
	Terms []Term `json:"terms"`
}

// Term is a conjunction of requirements.
type Term struct {
	Match []Requirement `json:"match"`
}

// Operator of a requirement.
type Operator string

const (
	In           Operator = "In"
	NotIn        Operator = "NotIn"
	Exists       Operator = "Exists"
	DoesNotExist Operator = "DoesNotExist"
	Gt           Operator = "Gt"
	Lt           Operator = "Lt"
)

// Requirement tests one store key. See package selector for the keys.
type Requirement struct {
	Key      string   `json:"key"`
	Operator Operator `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// App is something stores run, from a Helm chart or a kustomize path.
type App struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Namespace   string            `json:"namespace"`
	Source      AppSource         `json:"source"`
	Version     string            `json:"version"`
	Versions    map[string]string `json:"versions,omitempty"` // ring -> pinned version
	Values      map[string]any    `json:"values,omitempty"`
	Overrides   []GroupOverride   `json:"overrides,omitempty"` // applied in declared order
	Target      *Selector         `json:"target,omitempty"`    // nil = every store
	DependsOn   []string          `json:"dependsOn,omitempty"`
	// Health, when set, is probed by each store's fleetc-agent.
	Health *Health `json:"health,omitempty"`

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// Health is an app's health probe, run in the store by fleetc-agent, so
// Ready can mean the app answers, not only that Flux applied it.
type Health struct {
	HTTP *HTTPProbe `json:"http,omitempty"`
}

// HTTPProbe: GET http://<service>.<namespace>.svc:<port><path>; a 2xx or
// 3xx answer within the agent's probe timeout is healthy.
type HTTPProbe struct {
	Path    string `json:"path"`
	Port    int    `json:"port"`
	Service string `json:"service"`
}
type AppSource struct {
	Helm      *HelmSource      `json:"helm,omitempty"`
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`
	Agent     *AgentSource     `json:"agent,omitempty"`
}

// AgentSource makes the app fleetc-agent itself: fleetc renders the
// agent's manifests (agent/deploy) with Image:<version> and Collector, so
// the agent reaches every store through targeting, the rings and the
// policy gate like any other app.
type AgentSource struct {
	Image     string `json:"image"`     // repository, without a tag
	Collector string `json:"collector"` // the collector's base URL
}

// HelmSource is a chart in an HTTP(S) Helm repository or an OCI registry
// (Repository starting with oci://).
type HelmSource struct {
	Repository string `json:"repository"`
	Chart      string `json:"chart"`
}

// KustomizeSource is a path in a git repository (https:// or ssh://) or an
// OCI artifact (oci://). The version selects the tag TagPrefix+version.
type KustomizeSource struct {
	URL       string `json:"url"`
	Path      string `json:"path"`
	TagPrefix string `json:"tagPrefix,omitempty"`
}

// GroupOverride layers values onto an app for one group's stores.
type GroupOverride struct {
	Group  string         `json:"group"`
	Values map[string]any `json:"values"`

	Pos diag.Pos `json:"-"`
}

// Ring is an ordered rollout cohort. Its stores are the union of an
// explicit list, groups and a selector; every store is in exactly one ring.
type Ring struct {
	Name             string    `json:"name"`
	Order            int       `json:"order"`
	Description      string    `json:"description,omitempty"`
	Stores           []string  `json:"stores,omitempty"`
	Groups           []string  `json:"groups,omitempty"`
	Selector         *Selector `json:"selector,omitempty"`
	BakeTime         Duration  `json:"bakeTime"`
	SuccessThreshold float64   `json:"successThreshold"`  // 0..1
	FailureBudget    int       `json:"failureBudget"`     // failing stores tolerated
	Signoff          []string  `json:"signoff,omitempty"` // teams that must approve entering this ring

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// Freeze is a calendar period when changes are held.
type Freeze struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Start       string    `json:"start"` // RFC 3339 when Local is false, else "YYYY-MM-DDTHH:MM" store-local
	End         string    `json:"end"`
	Local       bool      `json:"local"`
	Stores      *Selector `json:"stores,omitempty"`  // nil = every store
	Apps        []string  `json:"apps,omitempty"`    // empty = every app
	Signoff     []string  `json:"signoff,omitempty"` // teams whose approval makes an override effective

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// Window is a named deployment window for a group (see also Group.Window).
type Window = GroupWindow

// Override asks to let a change through a freeze or outside a window. It
// takes effect only with the sign-off the policy demands.
type Override struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`             // freeze | window | mass-change
	Freeze string    `json:"freeze,omitempty"` // for kind freeze
	Stores *Selector `json:"stores,omitempty"`
	Apps   []string  `json:"apps,omitempty"`
	Reason string    `json:"reason"`
	Ticket string    `json:"ticket"`

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// Halt stops the line: while it is declared, no store changes what it
// runs for the apps and rings it names (none named = all), except for
// removals a policy denies (docs/guards.md, "Stop the line").
type Halt struct {
	ID     string   `json:"id"`
	Apps   []string `json:"apps,omitempty"`  // empty = every app
	Rings  []string `json:"rings,omitempty"` // empty = every ring
	Reason string   `json:"reason"`
	Ticket string   `json:"ticket"`
	By     string   `json:"by"`    // who stopped the line
	Since  string   `json:"since"` // RFC 3339

	Pos  diag.Pos `json:"-"`
	Refs []Ref    `json:"-"`
}

// Team maps a sign-off group to forge users and the monorepo paths it owns.
type Team struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Owns    []string `json:"owns,omitempty"`

	Pos diag.Pos `json:"-"`
}

// RefKind names what a reference points at.
type RefKind string

const (
	RefStore  RefKind = "store"
	RefGroup  RefKind = "group"
	RefApp    RefKind = "app"
	RefRing   RefKind = "ring"
	RefTeam   RefKind = "team"
	RefFreeze RefKind = "freeze"
)

// Ref is a reference from one entity to another, with where it is written,
// so unknown references are reported at the right line.
type Ref struct {
	Kind RefKind
	Name string
	Path string // field path, e.g. apps.pos.dependsOn[1]
	Pos  diag.Pos
}

// Duration is a time.Duration written as "90m", "24h" or "7d".
type Duration time.Duration

// ParseDuration accepts Go durations plus a "d" (24h) unit.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return Duration(time.Duration(n * float64(24*time.Hour))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return Duration(d), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"24h\": %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
