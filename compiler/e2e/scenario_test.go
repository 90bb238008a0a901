//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var storeNames = map[string]string{"1234": "1234", "austin-lab-2": "Austin: Lab #2", "store-12": "Store #12"}
var storeRings = map[string]string{"1234": "lab", "austin-lab-2": "canary", "store-12": "chain"}

// TestRollout drives three store clusters through what fleetc writes:
// first install (hostile store names and ids arrive as the exact strings),
// a store outside its window keeping its version until the window opens, a
// legal deny that Flux prunes, and a failing Helm release holding back the
// app that depends on it (Ready means healthy).
func TestRollout(t *testing.T) {
	stores := []string{"1234", "austin-lab-2", "store-12"}
	h := newHarness(t, stores)

	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		if err := h.helm.Add("greeter", v, greeterChart(v, v == "3.0.0")); err != nil {
			t.Fatal(err)
		}
	}
	oilURL, err := h.git.NewRepo("oil")
	if err != nil {
		t.Fatal(err)
	}
	if err := pushTagged(filepath.Join(h.dir, "oil-work"), oilURL, "v1.0.0", oilRepo); err != nil {
		t.Fatal(err)
	}
	h.fleet = filepath.Join(h.dir, "fleet")
	h.out = filepath.Join(h.dir, "deploy")
	if err := writeFleet(h.fleet, filepath.Join(h.repoRoot, "policies"), h.helm.URL, h.git.URL); err != nil {
		t.Fatal(err)
	}
	apps := []string{"drive-thru-vision", "greeter", "oil"}
	h.startAgents()

	t.Run("install", func(t *testing.T) {
		h.t = t
		// A first compile reaches the lab ring only; the others wait for
		// evidence (docs/rollout.md).
		rev := h.release(nowAll)
		for _, id := range stores {
			h.bootstrap(id)
		}
		h.waitApplied("1234", rev, apps...)
		h.waitApplied("austin-lab-2", rev)
		h.waitApplied("store-12", rev)
		h.noApps("austin-lab-2", "store-12")
		// What the lab store's Flux reports promotes the next ring only.
		rev = h.release(nowAll, "--feedback", h.feedback(nowAll))
		h.waitApplied("austin-lab-2", rev, apps...)
		h.waitApplied("store-12", rev)
		h.noApps("store-12")
		rev = h.release(nowAll, "--feedback", h.feedback(nowAll))
		for _, id := range stores {
			h.waitApplied(id, rev, apps...)
		}
		// Each store's own agent, with only its RBAC, reports the same
		// through the collector.
		h.agentsAgree(nowAll)
		for _, id := range stores {
			name := storeNames[id]
			// Helm values: whole variables arrive as strings whatever
			// the name or id; the bare id embeds.
			g := h.configMap(id, "greeter", "greeter")
			want := map[string]string{
				"name": name, "nameKind": "string", "id": id, "idKind": "string", "ring": storeRings[id],
				"feed": "https://menu.example/stores/" + id + "/menu.json", "chartVersion": "1.0.0",
			}
			for k, v := range want {
				if g[k] != v {
					t.Errorf("store %s: ConfigMap greeter/greeter %s = %q, want %q (data %v)", id, k, g[k], v, g)
				}
			}
			// A kustomize app's manifests: the store's variables and the
			// values keep their types, quoted or bare in the manifest.
			o := h.configMap(id, "oil", "oil")
			for k, v := range map[string]string{
				"name": name, "id": id, "oil": "190", "probes": "3",
				"site": "https://oil.example/" + id, "url": "https://oil.example/" + id + "/" + storeRings[id],
			} {
				if o[k] != v {
					t.Errorf("store %s: ConfigMap oil/oil %s = %q, want %q (data %v)", id, k, o[k], v, o)
				}
			}
			if svc, ok, err := h.clusters[id].Get(h.ctx, "service", "oil", "oil"); err != nil || !ok {
				t.Errorf("store %s: Service oil/oil: %v", id, err)
			} else if ports, _ := svc.Spec["ports"].([]any); len(ports) != 1 || ports[0].(map[string]any)["port"] != float64(8080) {
				t.Errorf("store %s: Service oil/oil ports %v, want the number 8080", id, svc.Spec["ports"])
			}
			if v, ready, msg := h.helmRelease(id, "greeter"); v != "1.0.0" || ready != "True" {
				t.Errorf("store %s: HelmRelease greeter at %q, Ready=%s (%s)", id, v, ready, msg)
			}
		}
	})
	if t.Failed() {
		return
	}

	t.Run("window holds a store", func(t *testing.T) {
		h.t = t
		if err := editFile(filepath.Join(h.fleet, "apps/greeter.cue"), `version: "1.0.0"`, `version: "2.0.0"`); err != nil {
			t.Fatal(err)
		}
		// 06:00 UTC: the Chicago stores are closed (deployable), Tokyo's
		// store-12 is open: when the rollout reaches chain it keeps 1.0.0.
		rev := h.release(nowNotTokyo)
		for _, id := range []string{"1234", "austin-lab-2"} {
			h.waitApplied(id, rev, apps...)
			rev = h.release(nowNotTokyo, "--feedback", h.feedback(nowNotTokyo))
		}
		if v := h.storeVariant("store-12", "greeter"); !strings.HasPrefix(v, "greeter@1.0.0-") {
			t.Fatalf("state.json: store-12 runs %s during its business hours, want 1.0.0", v)
		}
		for _, id := range stores {
			h.waitApplied(id, rev, apps...)
		}
		for id, want := range map[string]string{"1234": "2.0.0", "austin-lab-2": "2.0.0", "store-12": "1.0.0"} {
			if got := h.configMap(id, "greeter", "greeter")["chartVersion"]; got != want {
				t.Errorf("store %s: greeter chart %s installed, want %s", id, got, want)
			}
		}
		// Next day, 10:00 UTC: store-12's window is open; it catches up.
		rev = h.release(nowAllNext, "--feedback", h.feedback(nowAllNext))
		h.waitApplied("store-12", rev, apps...)
		if got := h.configMap("store-12", "greeter", "greeter")["chartVersion"]; got != "2.0.0" {
			t.Errorf("store-12: greeter chart %s once its window opened, want 2.0.0", got)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("legal deny is pruned", func(t *testing.T) {
		h.t = t
		// Legal extends the biometric rule to Texas (CUBI): the Austin store
		// must stop running drive-thru-vision, at once (deny outranks the
		// window).
		if err := editFile(filepath.Join(h.fleet, "policies/legal.rego"),
			`input.store.jurisdiction.region == "IL"`, `input.store.jurisdiction.region in {"IL", "TX"}`); err != nil {
			t.Fatal(err)
		}
		rev := h.release(nowLater)
		h.waitApplied("austin-lab-2", rev, "greeter", "oil")
		h.waitGone("austin-lab-2", "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "drive-thru-vision")
		h.waitGone("austin-lab-2", "helmreleases.helm.toolkit.fluxcd.io", "flux-system", "drive-thru-vision")
		h.waitGone("austin-lab-2", "configmap", "vision", "greeter") // helm uninstalled the release
		// The other stores keep it.
		h.waitApplied("1234", rev, apps...)
		if v, ready, _ := h.helmRelease("1234", "drive-thru-vision"); v == "" || ready != "True" {
			t.Errorf("1234: drive-thru-vision at %q Ready=%s after a deny elsewhere", v, ready)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("failing dependency holds its dependant", func(t *testing.T) {
		h.t = t
		// greeter 3.0.0 cannot install; oil 1.1.0 depends on greeter. With
		// wait: true the greeter Kustomization is not Ready while its
		// HelmRelease fails, so oil stays at 1.0.0.
		oil := map[string]string{}
		for k, v := range oilRepo {
			oil[k] = strings.Replace(v, "  name: oil\ndata:\n", "  name: oil\ndata:\n  release: \"1.1.0\"\n", 1)
		}
		oilURL := h.git.URL + "/oil"
		if err := pushTagged(filepath.Join(h.dir, "oil-work"), oilURL, "v1.1.0", oil); err != nil {
			t.Fatal(err)
		}
		for file, edit := range map[string][2]string{
			"apps/greeter.cue": {`version: "2.0.0"`, `version: "3.0.0"`},
			"apps/oil.cue":     {`version: "1.0.0"`, `version: "1.1.0"`},
		} {
			if err := editFile(filepath.Join(h.fleet, file), edit[0], edit[1]); err != nil {
				t.Fatal(err)
			}
		}
		rev := h.release(nowLater)
		c := h.clusters["1234"]
		ctx, cancel := context.WithTimeout(h.ctx, 3*time.Minute)
		defer cancel()
		// The HelmRelease fails to install the new chart...
		err := poll(ctx, time.Second, func() (bool, string, error) {
			v, ready, msg := h.helmRelease("1234", "greeter")
			return v == "3.0.0" && ready == "False", fmt.Sprintf("HelmRelease greeter at %s Ready=%s: %s", v, ready, msg), nil
		})
		if err != nil {
			t.Fatalf("1234: %v", err)
		}
		// ...and oil's Kustomization waits for greeter instead of applying.
		err = poll(ctx, time.Second, func() (bool, string, error) {
			o, ok, err := c.Get(ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "oil")
			if err != nil || !ok {
				return false, fmt.Sprintf("oil: %v", err), nil
			}
			_, reason, msg := o.Ready()
			return reason == "DependencyNotReady", fmt.Sprintf("oil: %s: %s", reason, msg), nil
		})
		if err != nil {
			t.Fatalf("1234: %v", err)
		}
		h.step("store 1234: greeter 3.0.0 fails, oil waits for it (DependencyNotReady)")
		if got := h.configMap("1234", "oil", "oil")["release"]; got != "" {
			t.Errorf("1234: oil 1.1.0 applied (release %q) while its dependency greeter fails at %s", got, rev)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("failing ring halts the rollout", func(t *testing.T) {
		h.t = t
		// The lab store reports greeter not Ready: lab's failure budget
		// is 0, so the rollout of 3.0.0 halts there and canary keeps 2.0.0.
		// The stores' own agents report it through the collector, and
		// the rollout halts on the snapshot fleetc feedback export wrote.
		// (A failing store needs no bake time, so the agents' real clock
		// against the scenario's --now does not matter here.)
		feedback := h.agentsAgree(nowLater)
		plan := h.fleetcRun(0, "plan", "--out", h.out, "--now", nowLater, "--feedback", feedback)
		if !strings.Contains(plan, "halted in lab: 1 failing stores exceed the failure budget of 0") {
			t.Errorf("plan does not say the rollout halted:\n%s", plan)
		}
		rev := h.release(nowLater, "--feedback", feedback)
		ro, _ := h.state()["rollouts"].(map[string]any)["greeter"].(map[string]any)
		halted, _ := ro["halted"].(map[string]any)
		if halted["ring"] != "lab" || !strings.Contains(fmt.Sprint(halted["failing"]), "1234: ") {
			t.Errorf("state.json rollout of greeter: %v, want halted in lab naming store 1234", ro)
		}
		h.waitApplied("austin-lab-2", rev, "greeter", "oil")
		if got := h.configMap("austin-lab-2", "greeter", "greeter")["chartVersion"]; got != "2.0.0" {
			t.Errorf("austin-lab-2 runs greeter %s after the halt in lab, want 2.0.0", got)
		}
		h.step("greeter 3.0.0 halted in lab; canary and chain keep 2.0.0")
	})
}
