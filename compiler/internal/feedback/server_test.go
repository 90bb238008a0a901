package feedback

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

type collector struct {
	t    *testing.T
	root string
	url  string
	srv  *Server
	logs *bytes.Buffer
	now  time.Time
}

func newCollector(t *testing.T, dsn string, opts ServerOptions) *collector {
	t.Helper()
	root := t.TempDir()
	writeFleet(t, root, 4, "s-0004")
	fleet, err := LoadFleet(context.Background(), root, "")
	if err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, dsn, DBOptions{})
	c := &collector{t: t, root: root, logs: &bytes.Buffer{}, now: t0.Add(2 * time.Minute)}
	opts.Log = slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Now = func() time.Time { return c.now }
	c.srv = NewServer(db, fleet, opts)
	hs := httptest.NewServer(c.srv.Handler())
	t.Cleanup(hs.Close)
	c.url = hs.URL
	return c
}

// post sends b as store's report with the given signature header.
func (c *collector) post(store, sig string, b []byte) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url+"/v1/reports", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if store != "" {
		req.Header.Set(report.HeaderStore, store)
	}
	if sig != "" {
		req.Header.Set(report.HeaderSignature, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (c *collector) send(r *report.Report) (int, string) {
	b := body(c.t, r)
	return c.post(r.Store, report.Sign(agentKey(r.Store), b), b)
}

func (c *collector) get(path string, v any) {
	c.t.Helper()
	resp, err := http.Get(c.url + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			c.t.Fatal(err)
		}
	}
}

// TestReports: every answer of POST /v1/reports, on both databases.
func TestReports(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		c := newCollector(t, dsn, ServerOptions{MaxBytes: 4096, Rate: 1, Burst: 5})
		good := mkReport("s-0001", 1, t0, "1.0.0", "r1")
		if code, out := c.send(good); code != 200 || !strings.Contains(out, `"accepted": true`) {
			t.Fatalf("a good report: %d %s", code, out)
		}
		b := body(t, mkReport("s-0001", 2, t0, "1.0.0", "r1"))
		other := body(t, mkReport("s-0002", 2, t0, "1.0.0", "r1"))
		_, stranger, _ := ed25519.GenerateKey(nil)
		tampered := bytes.Replace(b, []byte(`"1.0.0"`), []byte(`"6.6.6"`), 1)
		cases := []struct {
			name, store, sig string
			body             []byte
			code             int
			want             string
		}{
			{"unsigned", "s-0001", "", b, 401, "Fleetc-Signature"},
			{"no store header", "", report.Sign(agentKey("s-0001"), b), b, 401, "Fleetc-Store"},
			{"forged: another key", "s-0001", report.Sign(stranger, b), b, 403, "does not verify"},
			{"forged: body changed after signing", "s-0001", report.Sign(agentKey("s-0001"), b), tampered, 403, "does not verify"},
			{"signature not base64", "s-0001", "ed25519=!!", b, 403, "not a 64-byte"},
			{"cross-store: s-0001 signs s-0002's report", "s-0001", report.Sign(agentKey("s-0001"), other), other, 403, `about store \"s-0002\" but signed by store \"s-0001\"`},
			{"store without a key", "s-0004", report.Sign(agentKey("s-0004"), b), b, 403, "declares no agent.publicKey"},
			{"store not in the fleet", "s-0999", report.Sign(agentKey("s-0999"), b), b, 403, "not in the fleet"},
			{"replayed", "s-0001", report.Sign(agentKey("s-0001"), body(t, good)), body(t, good), 409, "replayed"},
			{"malformed JSON", "s-0001", report.Sign(agentKey("s-0001"), []byte(`{"schema": `)), []byte(`{"schema": `), 400, "1:12"},
			{"unknown field", "s-0001", report.Sign(agentKey("s-0001"), []byte(`{"schema":"x","color":1}`)), []byte(`{"schema":"x","color":1}`), 400, "unknown field"},
			{"oversized", "s-0001", "ed25519=x", bytes.Repeat([]byte(" "), 5000), 413, "over 4096 bytes"},
		}
		for _, tc := range cases {
			code, out := c.post(tc.store, tc.sig, tc.body)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("%s: %d %s, want %d saying %q", tc.name, code, out, tc.code, tc.want)
			}
		}
		stale := mkReport("s-0002", 1, t0.Add(-8*24*time.Hour), "1.0.0", "r1")
		if code, out := c.send(stale); code != 409 || !strings.Contains(out, "older than") {
			t.Errorf("stale: %d %s", code, out)
		}
		future := mkReport("s-0002", 1, c.now.Add(time.Hour), "1.0.0", "r1")
		if code, out := c.send(future); code != 409 || !strings.Contains(out, "check the store's clock") {
			t.Errorf("future: %d %s", code, out)
		}
		// The tampered report did not get in: the stored one is version 1.0.0.
		var snap rollout.Snapshot
		c.get("/v1/snapshot", &snap)
		if v := snap.Stores["s-0001"].Apps["pos"].Version; v != "1.0.0" || len(snap.Stores) != 1 {
			t.Errorf("snapshot after the rejections: %+v", snap.Stores)
		}
		// Rate: s-0003 has a burst of 5 (the two s-0002 refusals above
		// spent two of its own, not s-0003's).
		var codes []int
		for seq := uint64(1); seq <= 7; seq++ {
			code, _ := c.send(mkReport("s-0003", seq, t0, "1.0.0", "r1"))
			codes = append(codes, code)
		}
		if got := codesString(codes); got != "200 200 200 200 200 429 429" {
			t.Errorf("s-0003 sending 7 at once: %s", got)
		}
		logs := c.logs.String()
		for _, secret := range []string{report.Sign(agentKey("s-0001"), b), pubText("s-0001")} {
			if strings.Contains(logs, secret[8:]) {
				t.Errorf("the log holds key material or a signature: %s", secret)
			}
		}
		if !strings.Contains(logs, `"reason":"cross-store"`) {
			t.Errorf("the log does not name the rejections' reasons:\n%s", logs)
		}
		var metrics bytes.Buffer
		resp, err := http.Get(c.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&metrics, resp.Body)
		resp.Body.Close()
		for _, want := range []string{`fleetc_collector_reports_total{code="200",reason="accepted"} 6`, `fleetc_collector_reports_total{code="403",reason="cross-store"} 1`,
			`fleetc_collector_reports_total{code="429",reason="rate"} 2`, "fleetc_collector_stores_with_key 3"} {
			if !strings.Contains(metrics.String(), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func codesString(codes []int) string {
	var s []string
	for _, c := range codes {
		s = append(s, strconv.Itoa(c))
	}
	return strings.Join(s, " ")
}

// TestSnapshotAndStatus: the export is the format compile --feedback
// reads, and the status counts stores per app, version and ring.
func TestSnapshotAndStatus(t *testing.T) {
	c := newCollector(t, "sqlite:"+t.TempDir()+"/f.db", ServerOptions{})
	c.now = t0.Add(48 * time.Hour)
	send := func(r *report.Report) {
		t.Helper()
		if code, out := c.send(r); code != 200 {
			t.Fatalf("%s: %d %s", r.Store, code, out)
		}
	}
	send(mkReport("s-0001", 1, c.now.Add(-time.Minute), "1.1.0", "r2"))
	failing := mkReport("s-0002", 1, c.now.Add(-time.Minute), "1.1.0", "r2")
	failing.Apps["pos"] = report.App{Version: "1.1.0", Ready: "false", Reason: "InstallFailed", Message: "timed out waiting for the condition"}
	send(failing)
	probe := mkReport("s-0003", 1, c.now.Add(-time.Minute), "1.0.0", "r1")
	a := probe.Apps["pos"]
	a.Health = &report.Health{OK: false, Status: 503, Message: "GET /healthz: 503", At: c.now.Add(-time.Minute)}
	probe.Apps["pos"] = a
	send(probe)

	var buf bytes.Buffer
	if err := Export(context.Background(), c.url, &buf, http.DefaultClient, ""); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snapshot.json")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fleet, _, err := load.Load(context.Background(), load.Options{Root: c.root})
	if err != nil {
		t.Fatal(err)
	}
	snap, diags := rollout.ReadSnapshot(file, fleet)
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("compile --feedback cannot read the export cleanly: %v\n%s", diags, buf.String())
	}
	if a := snap.Stores["s-0003"].Apps["pos"]; a.Ready != "false" || a.Reason != "HealthProbeFailed" {
		t.Errorf("a failing health probe is not failing in the snapshot: %+v", a)
	}
	var st Status
	c.get("/v1/status", &st)
	got, _ := json.Marshal(st.Apps)
	want := `[{"app":"pos","versions":[{"version":"1.0.0","rings":[{"ring":"chain","stores":1,"ready":0,"failing":1,"unknown":0,"stale":0}]},` +
		`{"version":"1.1.0","rings":[{"ring":"lab","stores":2,"ready":1,"failing":1,"unknown":0,"stale":0}]}]}]`
	if string(got) != want {
		t.Errorf("status apps:\n%s\nwant\n%s", got, want)
	}
	if st.Stores != (StoreCounts{Known: 4, Reporting: 3, Never: 1}) {
		t.Errorf("status stores: %+v", st.Stores)
	}
}

// TestReadToken: with a read token the snapshot and status need it (401
// without, 403 with another); health, metrics and signed reports do not;
// export sends it.
func TestReadToken(t *testing.T) {
	c := newCollector(t, "sqlite:"+filepath.Join(t.TempDir(), "f.db"), ServerOptions{ReadToken: "s3cret-token"})
	if code, out := c.send(mkReport("s-0001", 1, c.now.Add(-time.Minute), "1.0.0", "r1")); code != 200 {
		t.Fatalf("report: %d %s", code, out)
	}
	for _, path := range []string{"/v1/snapshot", "/v1/status"} {
		for auth, want := range map[string]int{"": 401, "Bearer wrong": 403, "Basic czNjcmV0LXRva2Vu": 401, "Bearer s3cret-token": 200} {
			req, _ := http.NewRequest(http.MethodGet, c.url+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s with %q: %d, want %d", path, auth, resp.StatusCode, want)
			}
			if want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with %q: 401 without WWW-Authenticate", path, auth)
			}
		}
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(c.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200 without a token", path, resp.StatusCode)
		}
	}
	var buf bytes.Buffer
	if err := Export(context.Background(), c.url, &buf, http.DefaultClient, ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("export without the token: %v, want the 401", err)
	}
	if err := Export(context.Background(), c.url, &buf, http.DefaultClient, "s3cret-token"); err != nil || !strings.Contains(buf.String(), "s-0001") {
		t.Errorf("export with the token: %v\n%s", err, buf.String())
	}
}
