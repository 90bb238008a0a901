//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// TestWindowGate: with settings.agent.enforceWindows the store holds a
// change its window allowed when it arrives outside the window (a late
// merge), on the real Flux controllers and the store's own fleetc-agent
// (its service-account token, its RBAC), on the real clock:
//   - the agent suspends the store's window gate outside the window; a
//     new revision then waits (the app Kustomization is DependencyNotReady,
//     the HelmRelease keeps the old chart) while a removal goes through;
//   - with the agent stopped, the window opening changes nothing (the
//     gate stays as it was: fail closed);
//   - the agent restarted in the middle of the window opens the gate at its
//     first cycle and the held version is applied.
func TestWindowGate(t *testing.T) {
	const id = "w-1"
	h := newHarness(t, []string{id})
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if err := h.helm.Add("greeter", v, greeterChart(v, false)); err != nil {
			t.Fatal(err)
		}
	}
	h.fleet = filepath.Join(h.dir, "fleet")
	h.out = filepath.Join(h.dir, "deploy")
	if err := writeFleet(h.fleet, filepath.Join(h.repoRoot, "policies"), h.helm.URL, h.git.URL); err != nil {
		t.Fatal(err)
	}
	// The window fleet replaces the scenario's stores, rings and apps.
	for _, f := range []string{"apps/oil.cue", "apps/vision.cue"} {
		if err := os.Remove(filepath.Join(h.fleet, f)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	files := map[string]string{
		"fleet.cue":       "package fleet\n\nsettings: {\n\tdeployRepoSource: \"flux-system\"\n\tagent: enforceWindows: true\n}\n\nteams: legal: members: [\"hweiss\"]\n",
		"rings/rings.cue": "package fleet\n\nrings: lab: {order: 0, stores: [\"w-1\"]}\n",
		"inventory/stores/stores.cue": `package fleet

stores: {
	"w-1": {
		name:     "Window One"
		geo:      "us/midwest/in"
		timezone: "UTC"
		hours: {for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {(d): {open: "06:00", close: "22:00"}}}
		jurisdiction: {country: "US", region: "IN"}
		attributes: owner: "corporate"
	}
}
`,
		"inventory/groups/night.cue": windowGroup(now.Add(-30*time.Minute), now.Add(90*time.Minute)),
		"apps/banner.cue": `package fleet

apps: banner: {
	namespace: "banner"
	source: helm: {repository: "` + h.helm.URL + `", chart: "greeter"}
	version: "1.0.0"
	values: store: {name: "${FLEETC_STORE_NAME}", id: "${FLEETC_STORE_ID}", ring: "${FLEETC_RING}", feed: "none"}
}
`,
	}
	for p, c := range files {
		if err := writeFile(filepath.Join(h.fleet, p), c); err != nil {
			t.Fatal(err)
		}
	}
	// greeter declares a health probe: the agent GETs it from where it
	// runs (docs/agent.md, "Health probes").
	if err := editFile(filepath.Join(h.fleet, "apps/greeter.cue"), `version: "1.0.0"`, "version: \"1.0.0\"\n\thealth: http: {path: \"/healthz\", port: 8080}"); err != nil {
		t.Fatal(err)
	}
	h.startAgents()
	// The agent itself is an app of the fleet (source agent): Flux applies
	// its namespace, RBAC and Deployment like any release. (No kubelet
	// runs here, so the Deployment never becomes available; the agent runs
	// as a binary with the token of the service account it declares.)
	agentApp := fmt.Sprintf("package fleet\n\napps: \"fleetc-agent\": {\n\tsource: agent: {image: \"registry.example.com/fleetc/agent\", collector: %q}\n\tversion: \"0.1.0\"\n}\n", h.collector)
	if err := writeFile(filepath.Join(h.fleet, "apps/agent.cue"), agentApp); err != nil {
		t.Fatal(err)
	}
	c := h.clusters[id]
	agentArgs := []string{"run", "--store", id, "--collector", h.collector, "--kubeconfig", filepath.Join(h.dir, id, "agent.kubeconfig"),
		"--key-secret", agentKeySecret, "--state-dir", filepath.Join(h.dir, id, "agent"), "--interval", "2s", "--jitter", "0", "--log-format", "text"}
	startAgent := func(label string) *exec.Cmd {
		cmd, err := start(h.dir, label, nil, h.agent, agentArgs...)
		if err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	gateSuspended := func(want bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
		defer cancel()
		err := poll(ctx, time.Second, func() (bool, string, error) {
			o, ok, err := c.Get(ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "fleetc-window")
			if err != nil || !ok {
				return false, fmt.Sprintf("fleetc-window: %v", err), nil
			}
			return o.Spec["suspend"] == want || (!want && o.Spec["suspend"] == nil), fmt.Sprintf("fleetc-window spec.suspend = %v", o.Spec["suspend"]), nil
		})
		if err != nil {
			t.Fatalf("store %s: the window gate: %v", id, err)
		}
	}
	stamp := func(tm time.Time) string { return tm.UTC().Format(time.RFC3339) }

	// Inside the window: installed through the open gate.
	rev := h.release(stamp(now))
	h.bootstrap(id)
	agent := startAgent("agent-1")
	h.waitApplied(id, rev, "fleetc-window", "greeter", "banner")
	gateSuspended(false)
	h.step("store %s: installed inside its window, gate open", id)
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
	defer cancel()
	want := fmt.Sprintf("registry.example.com/fleetc/agent:0.1.0 w-1 %s", h.collector)
	err := poll(ctx, time.Second, func() (bool, string, error) {
		out, err := c.Kubectl(ctx, "get", "deployment", "fleetc-agent", "-n", "fleetc-system", "--ignore-not-found", "-o",
			`jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[?(@.name=="FLEETC_STORE_ID")].value} {.spec.template.spec.containers[0].env[?(@.name=="FLEETC_COLLECTOR_URL")].value}`)
		return err == nil && string(out) == want, fmt.Sprintf("Deployment fleetc-system/fleetc-agent: %q (%v)", out, err), nil
	})
	if err != nil {
		t.Fatalf("store %s: the agent app: %v, want %q", id, err, want)
	}
	h.step("store %s: the agent app's Deployment: %s", id, want)

	// The window moves to start in 75-135 s: the agent closes the gate.
	opens := time.Now().UTC().Add(75 * time.Second).Truncate(time.Minute).Add(time.Minute)
	if err := writeFile(filepath.Join(h.fleet, "inventory/groups/night.cue"), windowGroup(opens, opens.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	rev = h.release(stamp(time.Now()))
	h.waitApplied(id, rev) // the root: the ConfigMap with the new window
	gateSuspended(true)
	h.step("store %s: outside its window (opens %s): gate suspended", id, stamp(opens))

	// A change compiled for the window (--now inside it) merges before it
	// opens: greeter 2.0.0 waits, banner's removal does not.
	if err := editFile(filepath.Join(h.fleet, "apps/greeter.cue"), `version: "1.0.0"`, `version: "2.0.0"`); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(h.fleet, "apps/banner.cue")); err != nil {
		t.Fatal(err)
	}
	held := h.release(stamp(opens.Add(time.Minute)))
	h.waitGone(id, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "banner")
	h.waitGone(id, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", "banner")
	h.waitGone(id, "configmap", "banner", "greeter")
	waitHeld := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
		defer cancel()
		err := poll(ctx, time.Second, func() (bool, string, error) {
			o, ok, err := c.Get(ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", "greeter")
			if err != nil || !ok {
				return false, fmt.Sprintf("greeter: %v", err), nil
			}
			_, reason, msg := o.Ready()
			// The agent tells a held change by this: Flux moves
			// observedGeneration only when it applied the spec.
			return reason == "DependencyNotReady" && strings.Contains(msg, "fleetc-window") && o.Metadata.Generation != o.Status.ObservedGeneration,
				fmt.Sprintf("greeter: %s: %s (generation %d, observed %d)", reason, msg, o.Metadata.Generation, o.Status.ObservedGeneration), nil
		})
		if err != nil {
			t.Fatalf("store %s: greeter is not held by the gate: %v", id, err)
		}
		if got := h.configMap(id, "greeter", "greeter")["chartVersion"]; got != "1.0.0" {
			t.Fatalf("store %s: greeter chart %s applied outside the window, want 1.0.0 kept", id, got)
		}
	}
	waitHeld()
	if time.Now().After(opens) {
		t.Fatalf("the held checks ended after the window opened (%s): the test ran too slowly to show the hold; see %s", stamp(opens), h.dir)
	}
	h.step("store %s: greeter 2.0.0 held outside the window, banner removed at once", id)

	// The agent goes away; the window opens without it: nothing moves.
	stop(agent)
	if d := time.Until(opens.Add(5 * time.Second)); d > 0 {
		h.step("agent stopped; waiting %s for the window to open", d.Round(time.Second))
		select {
		case <-time.After(d):
		case <-h.ctx.Done():
			t.Fatal(h.ctx.Err())
		}
	}
	gateSuspended(true)
	waitHeld()
	h.step("store %s: window open, agent down: the gate stays closed", id)

	// Restarted mid-window, the agent opens the gate at its first cycle.
	agent = startAgent("agent-2")
	defer stop(agent)
	gateSuspended(false)
	h.waitApplied(id, held, "fleetc-window", "greeter")
	if got := h.configMap(id, "greeter", "greeter")["chartVersion"]; got != "2.0.0" {
		t.Errorf("store %s: greeter chart %s after the window opened, want 2.0.0", id, got)
	}
	for label, want := range map[string]string{"agent-1": "window gate closed", "agent-2": "window gate opened"} {
		b, err := os.ReadFile(filepath.Join(h.dir, label+".log"))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s.log does not say %q (%v)", label, want, err)
		}
	}
	h.step("store %s: agent restarted mid-window, greeter 2.0.0 applied", id)

	// The probe's URL came from the CUE through the rendered annotation.
	// No kubelet runs here, so no pod answers at greeter.greeter.svc: the
	// agent's report says so and the exported snapshot counts greeter as
	// failing although Flux calls it Ready.
	ctx, cancel = context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	file := filepath.Join(h.dir, "exported-health.json")
	err = poll(ctx, 2*time.Second, func() (bool, string, error) {
		out, err := exec.CommandContext(ctx, h.fleetc, "feedback", "export", "--from", h.collector, "--out", file).CombinedOutput()
		if err != nil {
			return false, "", fmt.Errorf("fleetc feedback export: %v\n%s", err, out)
		}
		var snap rollout.Snapshot
		b, err := os.ReadFile(file)
		if err != nil {
			return false, "", err
		}
		if err := json.Unmarshal(b, &snap); err != nil {
			return false, "", err
		}
		sr := snap.Stores[id]
		if sr == nil || sr.Apps["greeter"] == nil {
			return false, "no report of greeter yet", nil
		}
		g := sr.Apps["greeter"]
		return g.Version == "2.0.0" && g.Ready == "false" && g.Reason == "HealthProbeFailed" && strings.Contains(g.Message, "greeter.greeter.svc:8080/healthz"),
			fmt.Sprintf("greeter %s ready=%s %s: %s", g.Version, g.Ready, g.Reason, g.Message), nil
	})
	if err != nil {
		t.Fatalf("the health probe's result does not reach the snapshot: %v", err)
	}
	h.step("store %s: greeter's health probe (no pod answers here) reaches the snapshot as HealthProbeFailed", id)
}

// windowGroup is a group holding w-1 with a daily window from start to
// end (UTC clock times).
func windowGroup(start, end time.Time) string {
	return fmt.Sprintf(`package fleet

groups: night: {
	stores: ["w-1"]
	window: {days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start: %q, end: %q}
}
`, start.UTC().Format("15:04"), end.UTC().Format("15:04"))
}
