package hold

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/internal/kube"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Chicago, open 06:00-22:00 daily: the window is 22:30-05:00 local
// (04:30-11:00 UTC in November).
const chicago = "hours after=30m before=1h sun=06:00-22:00 mon=06:00-22:00 tue=06:00-22:00 wed=06:00-22:00 thu=06:00-22:00 fri=06:00-22:00 sat=06:00-22:00"

func TestDecide(t *testing.T) {
	freeze := "2026-11-26T06:00:00Z/2026-11-27T06:00:00Z"
	for _, tc := range []struct {
		name, text, zone, freezes, now string
		open                           bool
		why, next                      string
	}{
		{"inside", chicago, "America/Chicago", "", "2026-11-24T06:00:00Z", true, "inside the window until 2026-11-24T11:00:00Z", "2026-11-24T11:00:00Z"},
		{"outside", chicago, "America/Chicago", "", "2026-11-24T18:00:00Z", false, "outside the window; it opens at 2026-11-25T04:30:00Z", "2026-11-25T04:30:00Z"},
		{"end is exclusive", chicago, "America/Chicago", "", "2026-11-24T11:00:00Z", false, "outside the window", "2026-11-25T04:30:00Z"},
		{"frozen inside the window", chicago, "America/Chicago", freeze, "2026-11-26T07:00:00Z", false, "frozen until 2026-11-27T06:00:00Z", "2026-11-27T06:00:00Z"},
		{"freeze ahead", chicago, "America/Chicago", freeze, "2026-11-25T06:00:00Z", true, "inside the window", "2026-11-25T11:00:00Z"},
		{"always", "always", "America/Chicago", "", "2026-11-24T18:00:00Z", true, "always in the window", ""},
		{"always, frozen", "always", "UTC", freeze, "2026-11-26T07:00:00Z", false, "frozen until", "2026-11-27T06:00:00Z"},
		{"group", "group mon,wed 23:00-04:00", "UTC", "", "2026-11-24T01:00:00Z", true, "inside the window until 2026-11-24T04:00:00Z", "2026-11-24T04:00:00Z"},
		{"around the clock", "hours after=30m before=1h mon=00:00-00:00 tue=00:00-00:00 wed=00:00-00:00 thu=00:00-00:00 fri=00:00-00:00 sat=00:00-00:00 sun=00:00-00:00", "UTC", "", "2026-11-24T01:00:00Z", false, "has no window", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, why, next, err := Decide(tc.text, tc.zone, tc.freezes, at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			var n string
			if !next.IsZero() {
				n = next.UTC().Format(time.RFC3339)
			}
			if open != tc.open || !strings.Contains(why, tc.why) || n != tc.next {
				t.Errorf("Decide = %v %q next %q; want %v %q next %q", open, why, n, tc.open, tc.why, tc.next)
			}
		})
	}
	for _, bad := range [][3]string{{"sometimes", "UTC", ""}, {chicago, "Nowhere/Land", ""}, {"always", "UTC", "2026-11-26/x"}} {
		if open, _, _, err := Decide(bad[0], bad[1], bad[2], at("2026-11-24T06:00:00Z")); open || err == nil {
			t.Errorf("Decide(%q, %q, %q) = open %v, err %v; want closed with an error (fail closed)", bad[0], bad[1], bad[2], open, err)
		}
	}
}

// fakeAPI holds a ConfigMap and Kustomizations as the API server would
// answer them, and records patches.
type fakeAPI struct {
	cm      map[string]string // nil: no ConfigMap
	gate    *object           // nil: no gate
	ks      []object
	patches []string
}

func notFound(path string) error {
	return &kube.StatusError{Method: "GET", URL: path, Code: http.StatusNotFound, Reason: "NotFound"}
}

func (f *fakeAPI) Get(_ context.Context, path string, out any) error {
	var v any
	switch {
	case strings.HasSuffix(path, "/configmaps/"+ConfigMap):
		if f.cm == nil {
			return notFound(path)
		}
		v = map[string]any{"data": f.cm}
	case strings.HasSuffix(path, "/kustomizations/"+GateName):
		if f.gate == nil {
			return notFound(path)
		}
		v = f.gate
	default:
		return notFound(path)
	}
	b, _ := json.Marshal(v)
	return json.Unmarshal(b, out)
}

func (f *fakeAPI) List(_ context.Context, path string, out any) error {
	b, _ := json.Marshal(map[string]any{"items": f.ks})
	return json.Unmarshal(b, out)
}

func (f *fakeAPI) MergePatch(_ context.Context, path string, patch []byte, _ any) error {
	if !strings.HasSuffix(path, "/kustomizations/"+GateName) {
		return &kube.StatusError{Method: "PATCH", URL: path, Code: http.StatusForbidden}
	}
	f.patches = append(f.patches, string(patch))
	var p struct {
		Spec struct{ Suspend bool } `json:"spec"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return err
	}
	f.gate.Spec.Suspend = p.Spec.Suspend
	return nil
}

// app is an app Kustomization at generation 2 that depends on the gate:
// applied (observed 2, Ready), waiting for the gate with its new spec
// (observed 1), or held at an unchanged spec by a new revision (observed
// 2, DependencyNotReady).
func app(name, variant, state string) object {
	var o object
	o.Metadata.Name, o.Metadata.Generation = name, 2
	o.Metadata.Labels = map[string]string{labelApp: name, labelVariant: variant}
	o.Spec.DependsOn = append(o.Spec.DependsOn, dependency{GateName})
	type cond = struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	held := cond{"Ready", "False", "DependencyNotReady", "dependency 'flux-system/fleetc-window' revision is not up to date"}
	switch state {
	case "applied":
		o.Status.ObservedGeneration = 2
		o.Status.Conditions = append(o.Status.Conditions, cond{Type: "Ready", Status: "True", Reason: "ReconciliationSucceeded"})
	case "waiting":
		o.Status.ObservedGeneration = 1
		o.Status.Conditions = append(o.Status.Conditions, held)
	case "new revision":
		o.Status.ObservedGeneration = 2
		o.Status.Conditions = append(o.Status.Conditions, held)
	case "failing":
		o.Status.ObservedGeneration = 1
		o.Status.Conditions = append(o.Status.Conditions, cond{Type: "Ready", Status: "False", Reason: "HealthCheckFailed", Message: "timeout waiting for: [HelmRelease/flux-system/pos status: 'Failed']"})
	}
	return o
}

func TestSync(t *testing.T) {
	ctx := context.Background()
	inside, outside := at("2026-11-24T06:00:00Z"), at("2026-11-24T18:00:00Z")
	cm := map[string]string{VarWindow: chicago, VarTimezone: "America/Chicago"}

	// Not enforced: no ConfigMap, no window in it, no gate yet. Nothing
	// is patched.
	for name, f := range map[string]*fakeAPI{
		"no ConfigMap": {gate: &object{}},
		"no window":    {cm: map[string]string{VarTimezone: "UTC"}, gate: &object{}},
		"no gate":      {cm: cm},
	} {
		res, err := Sync(ctx, f, "flux-system", outside)
		if err != nil || res.Enforced || len(f.patches) > 0 || res.Why == "" {
			t.Errorf("%s: %+v, %v, patches %v; want not enforced, no patch", name, res, err, f.patches)
		}
	}

	// Outside: closed once; again: no patch. Inside: opened, with a
	// reconcile request. A restart is just the next Sync: no state.
	f := &fakeAPI{cm: cm, gate: &object{}}
	steps := []struct {
		now           time.Time
		open, changed bool
		patch         string
	}{
		{outside, false, true, `{"spec":{"suspend":true}}`},
		{outside, false, false, ""},
		{inside, true, true, `{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"2026-11-24T06:00:00Z"}},"spec":{"suspend":false}}`},
		{inside, true, false, ""},
	}
	for i, s := range steps {
		n := len(f.patches)
		res, err := Sync(ctx, f, "flux-system", s.now)
		if err != nil || !res.Enforced || res.Open != s.open || res.Changed != s.changed {
			t.Fatalf("step %d: %+v, %v", i, res, err)
		}
		if s.patch != "" && (len(f.patches) != n+1 || f.patches[n] != s.patch) {
			t.Errorf("step %d: patches %v, want %s", i, f.patches[n:], s.patch)
		}
		if s.patch == "" && len(f.patches) != n {
			t.Errorf("step %d: patched %v, want nothing", i, f.patches[n:])
		}
	}

	// Let through outside the window: the gate opens while the released
	// change waits, another waiting change rides along, and it closes once
	// the release is applied.
	f = &fakeAPI{cm: map[string]string{VarWindow: chicago, VarTimezone: "America/Chicago", VarUnheld: "pos@1.1.0-f0cafff82f"},
		gate: &object{}, ks: []object{app("pos", "1.1.0-f0cafff82f", "waiting"), app("menu", "2.0.0-0123456789", "waiting"), app("kds", "1.0.0-aaaaaaaaaa", "applied")}}
	f.gate.Spec.Suspend = true
	res, err := Sync(ctx, f, "flux-system", outside)
	if err != nil || !res.Open || !res.Changed || strings.Join(res.Released, ",") != "pos@1.1.0-f0cafff82f" || strings.Join(res.RideAlong, ",") != "menu@2.0.0-0123456789" {
		t.Fatalf("override: %+v, %v", res, err)
	}
	f.ks[0] = app("pos", "1.1.0-f0cafff82f", "applied")
	res, err = Sync(ctx, f, "flux-system", outside)
	if err != nil || res.Open || !res.Changed || len(res.Released) > 0 || !f.gate.Spec.Suspend {
		t.Fatalf("override applied: %+v, %v; want the gate closed again", res, err)
	}
	// Once applied, a later revision (any commit to the deploy repository)
	// holds pos at the same spec: that is not the released change, so the
	// gate stays shut; nor does a released change that applied and failed.
	for _, state := range []string{"new revision", "failing"} {
		f.ks[0] = app("pos", "1.1.0-f0cafff82f", state)
		res, err = Sync(ctx, f, "flux-system", outside)
		if err != nil || res.Open || res.Changed || len(res.Released) > 0 || !f.gate.Spec.Suspend {
			t.Errorf("pos %s: %+v, %v; want the gate kept shut", state, res, err)
		}
	}

	// A window that does not parse closes the gate and says why.
	f = &fakeAPI{cm: map[string]string{VarWindow: "sometimes", VarTimezone: "UTC"}, gate: &object{}}
	res, err = Sync(ctx, f, "flux-system", inside)
	if err == nil || res.Open || !f.gate.Spec.Suspend {
		t.Fatalf("unreadable window: %+v, %v; want closed with an error", res, err)
	}
}
