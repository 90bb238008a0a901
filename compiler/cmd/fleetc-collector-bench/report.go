package main

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fleetc/fleetc/agent/report"
)

// appNames are the 20 apps every synthetic store runs.
var appNames = []string{
	"pos", "kds", "menu-board", "loyalty", "payments", "inventory-sync", "drive-thru", "kiosk",
	"printer-bridge", "scale-gateway", "timeclock", "music", "wifi-portal", "camera-edge",
	"fryer-telemetry", "order-api", "delivery-hub", "promo-engine", "log-shipper", "node-exporter",
}

// hexOf is a stable fake digest of the parts, n hex digits.
func hexOf(n int, parts ...any) string {
	h := sha1.Sum([]byte(fmt.Sprint(parts...)))
	s := hex.EncodeToString(h[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// reportBody is store's report number seq, as fleetc-agent would send it:
// 20 apps, each with its Flux revision (a git commit for every third app,
// the chart version for the others) and Ready condition, and for every
// fourth app a health probe: about 3 KB. When change is true one app is
// progressing (Ready unknown), a different app than in the report before,
// so the report is a state change (a history row); otherwise every app is
// Ready, the state of the previous heartbeat.
func reportBody(store string, seq uint64, change bool, now time.Time) ([]byte, error) {
	since := now.Add(-36 * time.Hour).UTC().Truncate(time.Second)
	r := report.Report{Schema: report.Schema, Store: store, Seq: seq, At: now.UTC(), Agent: "fleetc-agent/0.4.1",
		Nodes: report.Nodes{Total: 3, Ready: 3}, Apps: make(map[string]report.App, len(appNames))}
	for i, app := range appNames {
		v := fmt.Sprintf("%d.%d.%d", 1+i%4, i*3%17, i%7)
		rev := v
		if i%3 == 0 {
			rev = "main@sha1:" + hexOf(40, app, v)
		}
		a := report.App{Version: v, Variant: v + "-" + hexOf(10, app, "variant"), Revision: rev, Ready: "true",
			Reason: "ReconciliationSucceeded", Since: &since}
		if change && int(seq%uint64(len(appNames))) == i {
			a.Ready, a.Reason, a.Message = "unknown", "Progressing", "Reconciliation in progress"
			s := now.Add(-20 * time.Second).UTC().Truncate(time.Second)
			a.Since = &s
		}
		if i%4 == 0 {
			a.Health = &report.Health{OK: true, Status: 200, At: now.Add(-7 * time.Second).UTC().Truncate(time.Millisecond)}
		}
		r.Apps[app] = a
	}
	return json.Marshal(&r)
}
