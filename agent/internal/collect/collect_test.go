package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/internal/kube"
	"github.com/fleetc/fleetc/agent/internal/kubefake"
	"github.com/fleetc/fleetc/agent/report"
)

func client(t *testing.T, api *kubefake.Server) *kube.Client {
	t.Helper()
	cfg, err := kube.LoadKubeconfig(must(api.WriteKubeconfig(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	return kube.New(cfg, 5*time.Second)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ts(s string) *time.Time {
	t := must(time.Parse(time.RFC3339, s))
	return &t
}

func TestRead(t *testing.T) {
	api := kubefake.Start()
	defer api.Close()
	var logs bytes.Buffer
	now := time.Date(2026, 11, 24, 9, 58, 12, 345, time.UTC)
	r, err := Read(context.Background(), client(t, api), "flux-system", now, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rev := "main@sha1:4329fe1837957162d4ad7ab8de0438fd172f41fd"
	want := &report.Report{
		Schema: report.Schema,
		At:     now.Truncate(time.Second),
		Nodes:  report.Nodes{Total: 2, Ready: 1},
		Apps: map[string]report.App{
			// Ready=True: its own condition, HelmRelease not consulted.
			"pos": {Version: "5.12.0", Variant: "5.12.0-8c1d0b7e2a", Revision: rev, Ready: "true",
				Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:4329fe18", Since: ts("2026-11-24T09:41:03Z")},
			// Unknown while the inner <app>.release already failed.
			"kitchen-display": {Version: "3.4.1", Variant: "3.4.1-a1b2c3d4e5", Revision: rev, Ready: "false",
				Reason: "HealthCheckFailed", Message: "health check failed after 4m30s: timeout waiting for: [Deployment/kitchen/kitchen-display status: 'InProgress']",
				Since: ts("2026-11-24T09:45:30Z")},
			// No status yet.
			"menu-boards": {Version: "2.0.0", Variant: "2.0.0-0f9e8d7c6b", Ready: "unknown"},
			// Unknown, its HelmRelease is fine: still unknown, own reason.
			"mqtt-bridge": {Version: "1.2.3", Variant: "1.2.3-5a4b3c2d1e", Revision: rev, Ready: "unknown",
				Reason: "Progressing", Message: "Reconciliation in progress", Since: ts("2026-11-24T09:42:00Z")},
			// False itself, and the HelmRelease's failure is the reason given.
			"order-router": {Version: "1.15.4", Variant: "1.15.4-7e4ce65efd", Revision: rev, Ready: "false",
				Reason: "InstallFailed", Message: "Helm install failed for release order-router/order-router with chart order-router@1.15.4: context deadline exceeded",
				Since: ts("2026-11-24T09:46:58Z")},
		},
	}
	got, _ := json.MarshalIndent(r, "", "  ")
	exp, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(got, exp) {
		t.Errorf("report:\n%s\nwant:\n%s", got, exp)
	}
	if !strings.Contains(logs.String(), "app=fryer-telemetry") || !strings.Contains(logs.String(), "no version label") {
		t.Errorf("no warning for fryer-telemetry's missing version label; logs:\n%s", logs.String())
	}
	r.Store, r.Seq = "us-il-chicago-0900", 1
	if err := r.Validate(); err != nil {
		t.Errorf("the report does not validate: %v", err)
	}
}

func TestReadFailures(t *testing.T) {
	for _, tc := range []struct {
		path   string
		status int
		want   string // "" when the read succeeds
	}{
		{kubefake.Nodes, http.StatusForbidden, `list nodes: GET https://`},
		{kubefake.Kustomizations, http.StatusForbidden, `kustomizations.kustomize.toolkit.fluxcd.io is forbidden`},
		{kubefake.Kustomizations, http.StatusNotFound, `list Kustomizations:`},
		{kubefake.HelmReleases, http.StatusInternalServerError, `list HelmReleases:`},
		{kubefake.HelmReleases, http.StatusNotFound, ""},
	} {
		api := kubefake.Start()
		api.Answer(tc.path, tc.status)
		r, err := Read(context.Background(), client(t, api), "flux-system", time.Now(), slog.New(slog.DiscardHandler))
		api.Close()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %d: %v, want a report", tc.path, tc.status, err)
		case tc.want == "" && r.Apps["order-router"].Reason != "HealthCheckFailed":
			t.Errorf("%s %d: order-router %+v, want its own condition without HelmReleases", tc.path, tc.status, r.Apps["order-router"])
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %d: err %v, want %q", tc.path, tc.status, err, tc.want)
		}
	}
}

// lists answers each path with its JSON.
type lists map[string]string

func (l lists) List(_ context.Context, path string, out any) error {
	for suffix, body := range l {
		if strings.HasSuffix(path, suffix) {
			return json.Unmarshal([]byte(body), out)
		}
	}
	return &kube.StatusError{Method: "GET", URL: path, Code: http.StatusNotFound}
}

// TestReadHeld: an app Kustomization waiting for the store's window gate
// reports what its release objects run (version, variant, Ready) and the
// version that waits; one waiting for its first install is left out.
func TestReadHeld(t *testing.T) {
	const gateMsg = `dependency 'flux-system/fleetc-window' revision is not up to date`
	l := lists{
		"/nodes": `{"items":[]}`,
		"/kustomizations": `{"items":[
 {"metadata":{"name":"greeter","labels":{"fleetc.dev/app":"greeter","fleetc.dev/version":"2.0.0","fleetc.dev/variant":"2.0.0-bbbbbbbbbb"}},
  "status":{"lastAppliedRevision":"main@sha1:1","conditions":[{"type":"Ready","status":"False","reason":"DependencyNotReady","message":"` + gateMsg + `","lastTransitionTime":"2026-11-24T10:00:00Z"}]}},
 {"metadata":{"name":"fresh","labels":{"fleetc.dev/app":"fresh","fleetc.dev/version":"1.0.0","fleetc.dev/variant":"1.0.0-cccccccccc"}},
  "status":{"conditions":[{"type":"Ready","status":"False","reason":"DependencyNotReady","message":"` + gateMsg + `"}]}},
 {"metadata":{"name":"oil","labels":{"fleetc.dev/app":"oil","fleetc.dev/version":"1.1.0","fleetc.dev/variant":"1.1.0-dddddddddd"}},
  "status":{"conditions":[{"type":"Ready","status":"False","reason":"DependencyNotReady","message":"dependency 'flux-system/greeter' is not ready"}]}}]}`,
		"/helmreleases": `{"items":[
 {"metadata":{"name":"greeter","labels":{"fleetc.dev/app":"greeter","fleetc.dev/version":"1.0.0","fleetc.dev/variant":"1.0.0-aaaaaaaaaa"}},
  "status":{"conditions":[{"type":"Ready","status":"True","reason":"UpgradeSucceeded","message":"ok","lastTransitionTime":"2026-11-23T10:00:00Z"}]}}]}`,
	}
	r, err := Read(context.Background(), l, "flux-system", time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := report.App{Version: "1.0.0", Variant: "1.0.0-aaaaaaaaaa", Revision: "main@sha1:1", Ready: "true",
		Reason: "UpgradeSucceeded", Message: "ok", Since: ts("2026-11-23T10:00:00Z"), Held: "2.0.0"}
	if got := r.Apps["greeter"]; !equalApp(got, want) {
		t.Errorf("held greeter: %+v, want %+v", got, want)
	}
	if a, ok := r.Apps["fresh"]; ok {
		t.Errorf("an app held before its first install is reported: %+v", a)
	}
	// Waiting for another app is not the window: reported as it is.
	if a := r.Apps["oil"]; a.Ready != "false" || a.Held != "" || a.Version != "1.1.0" {
		t.Errorf("oil waiting for greeter: %+v", a)
	}
}

func equalApp(a, b report.App) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

type fakeProber map[string]report.Health

func (f fakeProber) All(_ context.Context, urls map[string]string) map[string]report.Health {
	out := map[string]report.Health{}
	for app, u := range urls {
		h := f[u]
		out[app] = h
	}
	return out
}

// TestReadProbed: only apps whose Kustomization carries a probe URL are
// probed, and each result lands on its app.
func TestReadProbed(t *testing.T) {
	l := lists{
		"/nodes": `{"items":[]}`,
		"/kustomizations": `{"items":[
 {"metadata":{"name":"pos","labels":{"fleetc.dev/app":"pos","fleetc.dev/version":"1.0.0"},"annotations":{"fleetc.dev/health":"http://pos.pos.svc:8080/healthz"}},
  "status":{"conditions":[{"type":"Ready","status":"True","reason":"ReconciliationSucceeded"}]}},
 {"metadata":{"name":"kds","labels":{"fleetc.dev/app":"kds","fleetc.dev/version":"2.0.0"}},
  "status":{"conditions":[{"type":"Ready","status":"True"}]}}]}`,
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	p := fakeProber{"http://pos.pos.svc:8080/healthz": {OK: false, Status: 503, Message: "GET …: 503", At: at}}
	r, err := ReadProbed(context.Background(), l, p, "flux-system", at, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Apps["pos"].Health; h == nil || h.OK || h.Status != 503 {
		t.Errorf("pos health %+v, want the failing probe", h)
	}
	if h := r.Apps["kds"].Health; h != nil {
		t.Errorf("kds has no probe but health %+v", h)
	}
}
