package rollout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// SnapshotSchema identifies the feedback format (docs/feedback.md,
// docs/feedback.schema.json).
const SnapshotSchema = "fleetc.dev/feedback/v1"

// Snapshot is what the stores last reported, as the collector exports it.
type Snapshot struct {
	Schema      string                  `json:"schema"`
	GeneratedAt time.Time               `json:"generatedAt"`
	Stores      map[string]*StoreReport `json:"stores"`
}

// StoreReport is one store's last report.
type StoreReport struct {
	ReportedAt time.Time             `json:"reportedAt"`
	Nodes      *Nodes                `json:"nodes,omitempty"`
	Apps       map[string]*AppReport `json:"apps"`
}

// Nodes counts the store cluster's nodes and the Ready ones.
type Nodes struct {
	Total int `json:"total"`
	Ready int `json:"ready"`
}

// AppReport is one app's state in a store: what Flux applied and whether
// it is healthy (the app Kustomization's Ready condition).
type AppReport struct {
	Version  string `json:"version"`
	Variant  string `json:"variant,omitempty"`  // <version>-<hash>, the fleetc.dev/variant label
	Revision string `json:"revision,omitempty"` // the deploy repository revision applied
	// Ready is "true", "false" or "unknown".
	Ready   string     `json:"ready"`
	Reason  string     `json:"reason,omitempty"`
	Message string     `json:"message,omitempty"`
	Since   *time.Time `json:"since,omitempty"` // when Ready last changed
}

// Diagnostic codes of a snapshot.
const (
	CodeFeedbackUnknownStore = "feedback-unknown-store" // a store the fleet does not have (warning)
	CodeFeedbackUnknownApp   = "feedback-unknown-app"   // an app the fleet does not have (warning)
	CodeFeedbackInvalid      = "feedback-invalid"       // the file does not decode, or a field is wrong
)

// ReadSnapshot reads and checks a snapshot file. A file that does not
// decode, another schema or a bad field value is an error; stores and apps
// the fleet does not know are warnings (a store being decommissioned
// still reports), and they are dropped.
func ReadSnapshot(path string, fleet *model.Fleet) (*Snapshot, diag.List) {
	var diags diag.List
	pos := diag.Pos{File: path}
	b, err := os.ReadFile(path)
	if err != nil {
		diags.Errorf(pos, "", CodeFeedbackInvalid, "read feedback: %v", err)
		return nil, diags
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			pos = offsetPos(path, b, se.Offset)
		} else if te, ok := err.(*json.UnmarshalTypeError); ok {
			pos = offsetPos(path, b, te.Offset)
		}
		diags.Errorf(pos, "", CodeFeedbackInvalid, "feedback does not decode: %v", err)
		return nil, diags
	}
	if s.Schema != SnapshotSchema {
		diags.Errorf(pos, "schema", CodeFeedbackInvalid, "feedback schema is %q, want %q", s.Schema, SnapshotSchema)
		return nil, diags
	}
	for _, id := range slices.Sorted(maps.Keys(s.Stores)) {
		r := s.Stores[id]
		if fleet.StoreByID[id] == nil {
			diags.Warnf(pos, "stores."+id, CodeFeedbackUnknownStore, "feedback reports store %q, which the fleet does not have; ignored", id)
			delete(s.Stores, id)
			continue
		}
		if r == nil || r.ReportedAt.IsZero() {
			diags.Errorf(pos, "stores."+id, CodeFeedbackInvalid, "store %q: reportedAt is missing", id)
			continue
		}
		for _, app := range slices.Sorted(maps.Keys(r.Apps)) {
			a := r.Apps[app]
			if fleet.AppByID[app] == nil {
				diags.Warnf(pos, "stores."+id+".apps."+app, CodeFeedbackUnknownApp, "store %q reports app %q, which the fleet does not have; ignored", id, app)
				delete(r.Apps, app)
				continue
			}
			if a == nil || (a.Ready != "true" && a.Ready != "false" && a.Ready != "unknown") {
				diags.Errorf(pos, "stores."+id+".apps."+app+".ready", CodeFeedbackInvalid, "store %q app %q: ready must be \"true\", \"false\" or \"unknown\"", id, app)
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &s, diags
}

// offsetPos turns a byte offset into a line and column.
func offsetPos(file string, b []byte, off int64) diag.Pos {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(b[:off], '\n')
	return diag.Pos{File: file, Line: line, Col: col}
}

// String is for messages.
func (a *AppReport) String() string {
	s := fmt.Sprintf("%s ready=%s", a.Version, a.Ready)
	if a.Reason != "" {
		s += " " + a.Reason
	}
	return s
}

// SnapshotFromState is the snapshot of a fleet where every store of st
// reports at `at` that every app it runs is applied and Ready since
// `since`: what an all-healthy fleet's agents would send. The sample's and
// fleetc gen's example snapshots and the tests that walk a rollout use it.
func SnapshotFromState(st *deploy.State, at, since time.Time) *Snapshot {
	s := &Snapshot{Schema: SnapshotSchema, GeneratedAt: at.UTC(), Stores: make(map[string]*StoreReport, len(st.Stores))}
	since = since.UTC()
	for id, ss := range st.Stores {
		r := &StoreReport{ReportedAt: at.UTC(), Nodes: &Nodes{Total: 1, Ready: 1}, Apps: make(map[string]*AppReport, len(ss.Apps))}
		for app, vid := range ss.Apps {
			_, version, dir, _ := deploy.SplitVariantID(vid)
			r.Apps[app] = &AppReport{Version: version, Variant: dir, Ready: "true", Reason: "ReconciliationSucceeded", Since: &since}
		}
		s.Stores[id] = r
	}
	return s
}
