package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// Snapshot builds the feedback snapshot (docs/feedback.md) from every
// store's latest report: exactly what `fleetc compile --feedback` reads.
func Snapshot(latest []Latest, now time.Time) *rollout.Snapshot {
	snap := &rollout.Snapshot{Schema: rollout.SnapshotSchema, GeneratedAt: now.UTC(), Stores: make(map[string]*rollout.StoreReport, len(latest))}
	for _, l := range latest {
		snap.Stores[l.Store] = storeReport(l.Report)
	}
	return snap
}

func storeReport(r *report.Report) *rollout.StoreReport {
	sr := &rollout.StoreReport{ReportedAt: r.At.UTC(), Nodes: &rollout.Nodes{Total: r.Nodes.Total, Ready: r.Nodes.Ready},
		Apps: make(map[string]*rollout.AppReport, len(r.Apps))}
	for id, a := range r.Apps {
		ar := &rollout.AppReport{Version: a.Version, Variant: a.Variant, Revision: a.Revision,
			Ready: a.Ready, Reason: a.Reason, Message: a.Message, Since: a.Since}
		// An app Flux calls Ready whose own health probe fails is failing:
		// Ready should mean the app answers, not only that it installed.
		if a.Health != nil && !a.Health.OK && a.Ready == "true" {
			ar.Ready, ar.Reason, ar.Message = "false", "HealthProbeFailed", a.Health.Message
			at := a.Health.At
			ar.Since = &at
		}
		sr.Apps[id] = ar
	}
	return sr
}

// Export writes the snapshot of from — the collector's URL (GET
// /v1/snapshot) or its database DSN — to w as indented JSON.
func Export(ctx context.Context, from string, w io.Writer, client *http.Client, token string) error {
	var snap *rollout.Snapshot
	switch {
	case strings.HasPrefix(from, "http://"), strings.HasPrefix(from, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(from, "/")+"/v1/snapshot", nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return fmt.Errorf("GET %s/v1/snapshot: %s: %s", from, resp.Status, strings.TrimSpace(string(b)))
		}
		snap = new(rollout.Snapshot)
		dec := json.NewDecoder(resp.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(snap); err != nil {
			return fmt.Errorf("GET %s/v1/snapshot: %w", from, err)
		}
		if snap.Schema != rollout.SnapshotSchema {
			return fmt.Errorf("GET %s/v1/snapshot: schema %q, want %q", from, snap.Schema, rollout.SnapshotSchema)
		}
	case strings.HasPrefix(from, "sqlite:"), strings.HasPrefix(from, "postgres://"), strings.HasPrefix(from, "postgresql://"):
		db, err := Open(ctx, from, DBOptions{})
		if err != nil {
			return err
		}
		defer db.Close()
		latest, err := db.Latest(ctx)
		if err != nil {
			return err
		}
		snap = Snapshot(latest, time.Now())
	default:
		return errors.New("--from: want the collector's URL (http://…, https://…) or its database (sqlite:PATH, postgres://…)")
	}
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
