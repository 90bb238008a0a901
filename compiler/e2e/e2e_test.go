//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/gitserve"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

func TestMain(m *testing.M) {
	watchSignals()
	code := m.Run()
	stopAll()
	os.Exit(code)
}

// harness is one run: the servers, the store clusters and fleetc.
type harness struct {
	t         *testing.T
	ctx       context.Context
	start     time.Time
	dir       string // everything the run writes; kept when it fails
	fleetc    string
	repoRoot  string
	fleet     string // the fleet's monorepo root
	out       string // fleetc compile --out
	git       *gitserve.Server
	deploy    string // the deploy repository's URL
	helm      *HelmRepo
	clusters  map[string]*Cluster // by store id
	stores    []string
	agent     string // the fleetc-agent binary
	collector string // fleetc feedback serve's URL
}

// step prints progress with the time since the run started.
func (h *harness) step(format string, args ...any) {
	h.t.Helper()
	h.t.Logf("[%5.1fs] %s", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

func newHarness(t *testing.T, stores []string) *harness {
	kubeDir := os.Getenv("FLEETC_KUBE")
	if kubeDir == "" {
		t.Skip("FLEETC_KUBE is not set: run `make e2e` (it builds the components with scripts/kube.sh)")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	t.Cleanup(cancel)
	_, file, _, _ := runtime.Caller(0)
	h := &harness{t: t, ctx: ctx, start: time.Now(), repoRoot: filepath.Join(filepath.Dir(file), "..", ".."), clusters: map[string]*Cluster{}, stores: stores}
	dir, err := os.MkdirTemp(os.Getenv("FLEETC_E2E_DIR"), "fleetc-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	h.dir = dir
	t.Cleanup(func() {
		for _, c := range h.clusters {
			c.Stop()
		}
		if h.git != nil {
			h.git.Close()
		}
		if h.helm != nil {
			h.helm.Close()
		}
		if t.Failed() {
			t.Logf("e2e: the run's files and every component's log are in %s (<store>/logs/*.log)", h.dir)
			return
		}
		os.RemoveAll(h.dir)
	})

	h.step("building fleetc")
	h.fleetc = filepath.Join(dir, "fleetc")
	build := exec.Command("go", "build", "-o", h.fleetc, "./compiler/cmd/fleetc")
	build.Dir = h.repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build fleetc: %v\n%s", err, out)
	}

	h.step("starting the git server, the Helm repository and %d store clusters", len(stores))
	if h.git, err = gitserve.Start(filepath.Join(dir, "git")); err != nil {
		t.Fatal(err)
	}
	if h.deploy, err = h.git.NewRepo("deploy"); err != nil {
		t.Fatal(err)
	}
	if h.helm, err = StartHelmRepo(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, id := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := StartCluster(ctx, Kube{kubeDir}, filepath.Join(dir, id), "store-"+id)
			errs[i] = err
			if err == nil {
				mu.Lock()
				h.clusters[id] = c
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	h.step("clusters up: %s", strings.Join(stores, ", "))
	return h
}

// fleetcRun runs fleetc in the fleet's root; it fails the test on an exit
// code other than want.
func (h *harness) fleetcRun(want int, args ...string) string {
	h.t.Helper()
	cmd := exec.CommandContext(h.ctx, h.fleetc, append([]string{"--root", h.fleet, "--cache-dir", filepath.Join(h.dir, "cache"), "-q"}, args...)...)
	cmd.Dir = h.fleet
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("fleetc %s: %v", strings.Join(args, " "), err)
	}
	if code != want {
		h.t.Fatalf("fleetc %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, stderr.String())
	}
	return string(out)
}

// release compiles at now (with compileArgs), publishes to the rollout branch with the plain
// git provider, merges it into main (the deploy repository's main is what
// every store's Flux follows) and returns main's revision as Flux names it.
func (h *harness) release(now string, compileArgs ...string) string {
	h.t.Helper()
	h.fleetcRun(0, append([]string{"compile", "--out", h.out, "--now", now, "--approvals", filepath.Join(h.fleet, "approvals.json"), "--commit", "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"}, compileArgs...)...)
	h.fleetcRun(0, "publish", "--dir", h.out, "--repo", h.deploy, "--provider", "git", "--date", now,
		"--clone-dir", filepath.Join(h.dir, "clone"))
	bare := filepath.Join(h.git.Root, "deploy")
	if _, err := git(bare, "update-ref", "refs/heads/main", "refs/heads/fleetc/rollout"); err != nil {
		h.t.Fatal(err)
	}
	sha, err := git(bare, "rev-parse", "refs/heads/main")
	if err != nil {
		h.t.Fatal(err)
	}
	h.step("published and merged %s", sha[:12])
	return "main@sha1:" + sha
}

// bootstrap creates what `flux bootstrap git --path=clusters/<id>` would
// (docs/deploy-layout.md, "How a store consumes it"): the GitRepository
// flux-system on the deploy repository's main and the Kustomization
// flux-system on ./clusters/<id>, pruning.
func (h *harness) bootstrap(id string) {
	h.t.Helper()
	doc := fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 5s
  url: %s
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 30s
  path: ./clusters/%s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`, h.deploy, id)
	if _, err := h.clusters[id].KubectlIn(h.ctx, []byte(doc), "apply", "-f", "-"); err != nil {
		h.t.Fatal(err)
	}
}

// waitApplied waits until store id's Flux applied rev at the root and in
// every app Kustomization named, each Ready (healthy: wait: true).
func (h *harness) waitApplied(id, rev string, apps ...string) {
	h.t.Helper()
	c := h.clusters[id]
	ctx, cancel := context.WithTimeout(h.ctx, 4*time.Minute)
	defer cancel()
	for _, name := range append([]string{"flux-system"}, apps...) {
		err := poll(ctx, time.Second, func() (bool, string, error) {
			o, ok, err := c.Get(ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", name)
			if err != nil || !ok {
				return false, fmt.Sprintf("Kustomization %s: not there (%v)", name, err), nil
			}
			st, reason, msg := o.Ready()
			if st == "True" && o.Status.LastAppliedRevision == rev {
				return true, "", nil
			}
			why := fmt.Sprintf("Kustomization %s: Ready=%s %s: %s (applied %s)", name, st, reason, msg, o.Status.LastAppliedRevision)
			if in, ok, _ := c.Get(ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system", name+".release"); ok {
				ist, ireason, imsg := in.Ready()
				why += fmt.Sprintf("; inner %s.release: Ready=%s %s: %s", name, ist, ireason, imsg)
			}
			if hr, ok, _ := c.Get(ctx, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", name); ok {
				hst, hreason, hmsg := hr.Ready()
				why += fmt.Sprintf("; HelmRelease %s: Ready=%s %s: %s", name, hst, hreason, hmsg)
			}
			return false, why, nil
		})
		if err != nil {
			h.t.Fatalf("store %s: %v", id, err)
		}
	}
	h.step("store %s: applied %s, Ready: %s", id, rev[len(rev)-12:], strings.Join(apps, ", "))
}

// configMap reads a ConfigMap's data; nil when it does not exist.
func (h *harness) configMap(id, namespace, name string) map[string]string {
	h.t.Helper()
	o, ok, err := h.clusters[id].Get(h.ctx, "configmap", namespace, name)
	if err != nil {
		h.t.Fatal(err)
	}
	if !ok {
		return nil
	}
	return o.Data
}

// helmRelease reads a HelmRelease's chart version and Ready condition.
func (h *harness) helmRelease(id, name string) (version, ready, msg string) {
	h.t.Helper()
	o, ok, err := h.clusters[id].Get(h.ctx, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", name)
	if err != nil {
		h.t.Fatal(err)
	}
	if !ok {
		return "", "", "absent"
	}
	chart, _ := o.Spec["chart"].(map[string]any)
	spec, _ := chart["spec"].(map[string]any)
	version, _ = spec["version"].(string)
	ready, _, msg = o.Ready()
	return version, ready, msg
}

// state reads .fleetc/state.json of the compile's output.
func (h *harness) state() map[string]any {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.out, ".fleetc", "state.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// storeVariant is the variant id store runs for app in the compiled state.
func (h *harness) storeVariant(store, app string) string {
	st := h.state()
	profile, _ := st["stores"].(map[string]any)[store].(string)
	p, _ := st["profiles"].(map[string]any)[profile].(map[string]any)
	apps, _ := p["apps"].(map[string]any)
	v, _ := apps[app].(string)
	return v
}

// waitGone waits until an object no longer exists in store id's cluster.
func (h *harness) waitGone(id, kind, namespace, name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
	defer cancel()
	err := poll(ctx, time.Second, func() (bool, string, error) {
		_, ok, err := h.clusters[id].Get(ctx, kind, namespace, name)
		return err == nil && !ok, fmt.Sprintf("%s %s/%s still there (%v)", kind, namespace, name, err), nil
	})
	if err != nil {
		h.t.Fatalf("store %s: %v", id, err)
	}
	h.step("store %s: %s %s/%s gone", id, kind, namespace, name)
}

// feedback writes the feedback snapshot the stores' agents would report
// now, read from each real API server: per app Kustomization (labelled
// fleetc.dev/app) its version and variant labels and its Ready condition.
// It stands in for fleetc-agent and the collector until they exist.
func (h *harness) feedback(now string) string {
	h.t.Helper()
	at, err := time.Parse(time.RFC3339, now)
	if err != nil {
		h.t.Fatal(err)
	}
	snap := rollout.Snapshot{Schema: rollout.SnapshotSchema, GeneratedAt: at, Stores: map[string]*rollout.StoreReport{}}
	for _, id := range h.stores {
		ks, err := h.clusters[id].List(h.ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system")
		if err != nil {
			h.t.Fatal(err)
		}
		r := &rollout.StoreReport{ReportedAt: at, Nodes: &rollout.Nodes{Total: 1, Ready: 1}, Apps: map[string]*rollout.AppReport{}}
		for _, k := range ks {
			app := k.Metadata.Labels["fleetc.dev/app"]
			if app == "" || strings.HasSuffix(k.Metadata.Name, ".release") {
				continue
			}
			st, reason, msg := k.Ready()
			ready := "unknown"
			switch st {
			case "True":
				ready = "true"
			case "False":
				ready = "false"
			}
			// While the Kustomization waits for health, what it applied
			// may already have failed: a HelmRelease or the inner
			// Kustomization that is Ready=False is the app failing.
			if ready != "true" {
				for _, obj := range [][2]string{{"helmreleases.helm.toolkit.fluxcd.io", app}, {"kustomizations.kustomize.toolkit.fluxcd.io", app + ".release"}} {
					if o, ok, _ := h.clusters[id].Get(h.ctx, obj[0], "flux-system", obj[1]); ok {
						if ost, oreason, omsg := o.Ready(); ost == "False" {
							ready, reason, msg = "false", oreason, omsg
						}
					}
				}
			}
			r.Apps[app] = &rollout.AppReport{Version: k.Metadata.Labels["fleetc.dev/version"], Variant: k.Metadata.Labels["fleetc.dev/variant"],
				Revision: k.Status.LastAppliedRevision, Ready: ready, Reason: reason, Message: msg}
		}
		snap.Stores[id] = r
	}
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		h.t.Fatal(err)
	}
	file := filepath.Join(h.dir, "feedback-"+strings.NewReplacer(":", "").Replace(now)+".json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return file
}

// noApps checks that the stores' clusters have no app Kustomization: the
// rollout has not opened their ring.
func (h *harness) noApps(ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		ks, err := h.clusters[id].List(h.ctx, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system")
		if err != nil {
			h.t.Fatal(err)
		}
		for _, k := range ks {
			if k.Metadata.Name != "flux-system" {
				h.t.Errorf("store %s runs %s before the rollout opened its ring", id, k.Metadata.Name)
			}
		}
	}
}
