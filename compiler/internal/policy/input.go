package policy

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// ChangeKind says what a candidate change does to a store's app.
type ChangeKind string

const (
	Install     ChangeKind = "install"
	Upgrade     ChangeKind = "upgrade"
	Downgrade   ChangeKind = "downgrade"
	Reconfigure ChangeKind = "reconfigure"
	Remove      ChangeKind = "remove"
	None        ChangeKind = "none"
)

// Input is one candidate change as the policies see it (input.* in Rego;
// docs/policies.md lists every field). Pointer fields are shared between
// inputs and converted once per Decide: inputs that share a *StoreFacts,
// *model.App, *model.Ring or Values map must mean the same thing, and none
// of them may change while Decide runs.
type Input struct {
	Store     *StoreFacts
	App       *model.App  // id and namespace are exposed
	Ring      *model.Ring // name, order and signoff are exposed
	Change    Change
	Values    map[string]any // merged values the store would get
	Window    calendar.Window
	Freezes   []Freeze          // freezes whose scope covers this store and app
	Overrides []*model.Override // overrides whose scope covers this store and app
	History   History
}

// Change is the move from what the store runs to what it would run.
type Change struct {
	From string     // version running now; "" when not installed
	To   string     // version after the change; "" for a removal
	Kind ChangeKind // install|upgrade|downgrade|reconfigure|remove|none
}

// Freeze is a freeze in scope, with its bounds resolved in the store's zone.
type Freeze struct {
	Freeze     *model.Freeze
	Active     bool
	Start, End time.Time
}

// History says what the rollout state already holds, for sign-off rules
// that fire only the first time something happens.
type History struct {
	RingHasVersion     bool // some store of the ring has run Change.To
	JurisdictionHasApp bool // some store of the jurisdiction runs the app
}

// StoreFacts is a store and the groups it belongs to. Build one per store
// with NewStoreFacts and share it across that store's inputs.
type StoreFacts struct {
	Store  *model.Store
	Groups []string // sorted group names
}

// NewStoreFacts returns the policy view of s.
func NewStoreFacts(s *model.Store, groups []string) *StoreFacts {
	return &StoreFacts{Store: s, Groups: groups}
}

// storeKeys are the fields of input.store, in document order.
var storeKeys = []string{"id", "name", "geo", "timezone", "jurisdiction", "attributes", "groups", "paused"}

// storeField builds one field of input.store; nil for an unknown key.
func storeField(sf *StoreFacts, key string) *ast.Term {
	s := sf.Store
	switch key {
	case "id":
		return str(s.ID)
	case "name":
		return str(s.Name)
	case "geo":
		return str(s.Geo)
	case "timezone":
		return str(s.Timezone)
	case "jurisdiction":
		return obj(
			"country", str(s.Jurisdiction.Country),
			"region", str(s.Jurisdiction.Region),
			"city", str(s.Jurisdiction.City))
	case "attributes":
		a := s.Attributes
		labels := ast.NewObject()
		for k, v := range a.Labels {
			labels.Insert(ast.StringTerm(k), ast.StringTerm(v))
		}
		return obj(
			"owner", str(a.Owner),
			"franchisee", str(a.Franchisee),
			"format", str(a.Format),
			"driveThruLanes", ast.IntNumberTerm(a.DriveThruLanes),
			"devices", strs(a.Devices),
			"deliveryPartners", strs(a.DeliveryPartners),
			"languages", strs(a.Languages),
			"labels", ast.NewTerm(labels))
	case "groups":
		return strs(sf.Groups)
	case "paused":
		return ast.BooleanTerm(s.Pause != nil)
	}
	return nil
}

// storeValue builds input.store reduced to the paths of t: only the
// fields t names are built, so a store costs what the policies read.
func storeValue(sf *StoreFacts, t *pathTrie) ast.Value {
	if sf == nil || sf.Store == nil {
		return ast.NewObject()
	}
	keys := storeKeys
	if !t.whole {
		keys = t.keys
	}
	out := ast.NewObjectWithCapacity(len(keys))
	for _, k := range keys {
		v := storeField(sf, k)
		if v == nil {
			continue
		}
		if !t.whole {
			v = ast.NewTerm(project(v.Value, t.kids[k]))
		}
		out.Insert(ast.StringTerm(k), v)
	}
	return out
}

func appValue(a *model.App) ast.Value {
	if a == nil {
		return ast.NewObject()
	}
	return obj("id", str(a.ID), "namespace", str(a.Namespace)).Value
}

func ringValue(r *model.Ring) ast.Value {
	if r == nil {
		return ast.NewObject()
	}
	return obj("name", str(r.Name), "order", ast.IntNumberTerm(r.Order), "signoff", strs(r.Signoff)).Value
}

func changeValue(c Change) ast.Value {
	return obj("from", str(c.From), "to", str(c.To), "kind", str(string(c.Kind))).Value
}

func windowValue(w calendar.Window) ast.Value {
	return obj(
		"open", ast.BooleanTerm(w.Open),
		"opens_at", str(rfc3339(w.OpensAt)),
		"closes_at", str(rfc3339(w.ClosesAt)),
		"source", str(w.Source),
		"zone", str(w.Zone),
	).Value
}

func freezesValue(fs []Freeze) ast.Value {
	terms := make([]*ast.Term, 0, len(fs))
	for _, f := range fs {
		apps := f.Freeze.Apps
		terms = append(terms, obj(
			"name", str(f.Freeze.Name),
			"active", ast.BooleanTerm(f.Active),
			"start", str(rfc3339(f.Start)),
			"end", str(rfc3339(f.End)),
			"local", ast.BooleanTerm(f.Freeze.Local),
			"apps", strs(apps),
			"signoff", strs(f.Freeze.Signoff),
		))
	}
	return ast.NewArray(terms...)
}

func overridesValue(os []*model.Override) ast.Value {
	terms := make([]*ast.Term, 0, len(os))
	for _, o := range os {
		terms = append(terms, obj(
			"id", str(o.ID),
			"kind", str(o.Kind),
			"freeze", str(o.Freeze),
			"apps", strs(o.Apps),
			"reason", str(o.Reason),
			"ticket", str(o.Ticket),
		))
	}
	return ast.NewArray(terms...)
}

func historyValue(h History) ast.Value {
	return obj(
		"ring_has_version", ast.BooleanTerm(h.RingHasVersion),
		"jurisdiction_has_app", ast.BooleanTerm(h.JurisdictionHasApp),
	).Value
}

func approvalsValue(a ApprovalSet) ast.Value {
	return obj("users", strs(a.Users), "teams", strs(a.Teams)).Value
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func str(s string) *ast.Term { return ast.StringTerm(s) }

func strs(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

// obj builds an object from alternating keys and values.
func obj(kv ...any) *ast.Term {
	o := ast.NewObjectWithCapacity(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		o.Insert(ast.StringTerm(kv[i].(string)), kv[i+1].(*ast.Term))
	}
	return ast.NewTerm(o)
}
