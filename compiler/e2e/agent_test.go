//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

// agentKeySecret is where the agents keep their keys, as agent/deploy's
// Deployment says.
const agentKeySecret = "fleetc-system/fleetc-agent-key"

// startAgents prepares the real edge loop: it builds fleetc-agent, applies
// the agent's namespace and RBAC (agent/deploy) to each store cluster and
// mints a token of the agent's own service account, makes each store's
// key in its Secret with that token (fleetc-agent pubkey --key-secret) and
// declares its public key in the fleet's inventory as the bootstrap PR
// would, and starts the collector (fleetc feedback serve on SQLite) on the
// fleet.
func (h *harness) startAgents() {
	h.t.Helper()
	h.step("building fleetc-agent, making the stores' keys, starting the collector")
	h.agent = filepath.Join(h.dir, "fleetc-agent")
	build := exec.Command("go", "build", "-o", h.agent, "./agent/cmd/fleetc-agent")
	build.Dir = h.repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		h.t.Fatalf("go build fleetc-agent: %v\n%s", err, out)
	}
	inventory := filepath.Join(h.fleet, "inventory", "stores", "stores.cue")
	for _, id := range h.stores {
		c := h.clusters[id]
		for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
			if out, err := c.Kubectl(h.ctx, "apply", "-f", filepath.Join(h.repoRoot, "agent", "deploy", f)); err != nil {
				h.t.Fatalf("store %s: kubectl apply %s: %v\n%s", id, f, err, out)
			}
		}
		token, err := c.Kubectl(h.ctx, "create", "token", "fleetc-agent", "--namespace", "fleetc-system", "--duration", "1h")
		if err != nil {
			h.t.Fatalf("store %s: create the agent's token: %v\n%s", id, err, token)
		}
		kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: store
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: fleetc-agent
  user:
    token: %s
contexts:
- name: store
  context: {cluster: store, user: fleetc-agent}
current-context: store
`, c.Server, strings.TrimSpace(string(token)))
		kubeconfig := filepath.Join(h.dir, id, "agent.kubeconfig")
		if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
			h.t.Fatal(err)
		}
		// The key is made in the store's Secret, with the agent's own
		// RBAC (create secrets in fleetc-system, get that one).
		out, err := exec.Command(h.agent, "pubkey", "--key-secret", agentKeySecret, "--kubeconfig", kubeconfig).Output()
		if err != nil {
			h.t.Fatalf("store %s: fleetc-agent pubkey --key-secret: %v", id, err)
		}
		key := strings.TrimSpace(string(out))
		if err := editFile(inventory, fmt.Sprintf("%q: {\n", id), fmt.Sprintf("%q: {\n\t\tagent: publicKey: %q\n", id, key)); err != nil {
			h.t.Fatal(err)
		}
		if sec, ok, err := c.Get(h.ctx, "secret", "fleetc-system", "fleetc-agent-key"); err != nil || !ok || sec.Data["key.pem"] == "" {
			h.t.Fatalf("store %s: no key in Secret %s (%v)", id, agentKeySecret, err)
		}
	}
	ports, err := freePorts(1)
	if err != nil {
		h.t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	if _, err := start(h.dir, "collector", nil, h.fleetc, "--root", h.fleet, "--cache-dir", filepath.Join(h.dir, "cache"),
		"feedback", "serve", "--listen", addr, "--db", "sqlite:"+filepath.Join(h.dir, "feedback.db"), "--log-format", "text"); err != nil {
		h.t.Fatal(err)
	}
	h.collector = "http://" + addr
	err = poll(h.ctx, 200*time.Millisecond, func() (bool, string, error) {
		resp, err := http.Get(h.collector + "/healthz")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status, nil
	})
	if err != nil {
		h.t.Fatalf("the collector did not come up (log: %s): %v", filepath.Join(h.dir, "collector.log"), err)
	}
}

// agentsAgree runs every store's fleetc-agent once (its own service
// account token, so its RBAC is what is tested), exports the collector's
// snapshot and checks that, per store and app, it says what the harness
// reads from the same API servers with admin rights (h.feedback at now):
// version, variant, revision, ready and reason. While an app is still
// moving both are read again, for up to a minute. It returns the exported
// snapshot's file.
func (h *harness) agentsAgree(now string) string {
	h.t.Helper()
	file := filepath.Join(h.dir, fmt.Sprintf("exported-%d.json", time.Now().UnixNano()))
	ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	err := poll(ctx, 2*time.Second, func() (bool, string, error) {
		b, err := os.ReadFile(h.feedback(now))
		if err != nil {
			return false, "", err
		}
		var exp rollout.Snapshot
		if err := json.Unmarshal(b, &exp); err != nil {
			return false, "", err
		}
		for _, id := range h.stores {
			cmd := exec.CommandContext(h.ctx, h.agent, "run", "--once", "--store", id, "--collector", h.collector,
				"--kubeconfig", filepath.Join(h.dir, id, "agent.kubeconfig"), "--key-secret", agentKeySecret,
				"--state-dir", filepath.Join(h.dir, id, "agent"), "--log-format", "text")
			if out, err := cmd.CombinedOutput(); err != nil {
				return false, "", fmt.Errorf("store %s: fleetc-agent run --once: %v\n%s", id, err, out)
			}
		}
		cmd := exec.CommandContext(h.ctx, h.fleetc, "feedback", "export", "--from", h.collector, "--out", file)
		if out, err := cmd.CombinedOutput(); err != nil {
			return false, "", fmt.Errorf("fleetc feedback export: %v\n%s", err, out)
		}
		b, err = os.ReadFile(file)
		if err != nil {
			return false, "", err
		}
		var got rollout.Snapshot
		if err := json.Unmarshal(b, &got); err != nil {
			return false, "", err
		}
		diff := compareSnapshots(&exp, &got)
		return diff == "", diff, nil
	})
	if err != nil {
		h.t.Fatalf("the agents' snapshot (through the collector) differs from the clusters' state: %v", err)
	}
	h.step("the agents' reports through the collector agree with the clusters: %s", file)
	return file
}

func compareSnapshots(want, got *rollout.Snapshot) string {
	var d []string
	for id, ws := range want.Stores {
		gs := got.Stores[id]
		if gs == nil {
			d = append(d, id+": no report")
			continue
		}
		for app, w := range ws.Apps {
			g := gs.Apps[app]
			if g == nil {
				d = append(d, fmt.Sprintf("%s/%s: not reported", id, app))
				continue
			}
			if w.Version != g.Version || w.Variant != g.Variant || w.Revision != g.Revision || w.Ready != g.Ready || w.Reason != g.Reason {
				d = append(d, fmt.Sprintf("%s/%s: agent %s %s %s ready=%s %s, cluster %s %s %s ready=%s %s", id, app,
					g.Version, g.Variant, g.Revision, g.Ready, g.Reason, w.Version, w.Variant, w.Revision, w.Ready, w.Reason))
			}
		}
		for app := range gs.Apps {
			if ws.Apps[app] == nil {
				d = append(d, fmt.Sprintf("%s/%s: reported, not in the cluster", id, app))
			}
		}
	}
	return strings.Join(d, "; ")
}
