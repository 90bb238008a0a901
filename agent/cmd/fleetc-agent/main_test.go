package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/internal/kubefake"
	"github.com/fleetc/fleetc/agent/report"
)

func TestMain(m *testing.M) {
	if os.Getenv("FLEETC_AGENT_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// collector is a fake feedback collector: it verifies each report like the
// real one and answers status() (200 unless set).
type collector struct {
	*httptest.Server
	pub     ed25519.PublicKey
	mu      sync.Mutex
	status  int
	reports []*report.Report // accepted with 200
	posts   int
}

func newCollector(t *testing.T, pub ed25519.PublicKey) *collector {
	c := &collector{pub: pub, status: http.StatusOK}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.posts++
		body, _ := io.ReadAll(r.Body)
		if err := report.Verify(c.pub, body, r.Header.Get(report.HeaderSignature)); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		rep, err := report.Decode(body)
		if err != nil || rep.Store != r.Header.Get(report.HeaderStore) {
			t.Errorf("collector: bad report (%v) or store header %q", err, r.Header.Get(report.HeaderStore))
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		if c.status == http.StatusOK {
			c.reports = append(c.reports, rep)
		}
		w.WriteHeader(c.status)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) set(status int) {
	c.mu.Lock()
	c.status = status
	c.mu.Unlock()
}

func (c *collector) seqs() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []uint64
	for _, r := range c.reports {
		out = append(out, r.Seq)
	}
	return out
}

func agentCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// setupStore starts a fake API server and collector and makes the store's
// key with `pubkey`, as an operator would.
func setupStore(t *testing.T) (api *kubefake.Server, col *collector, stateDir, kubeconfig string) {
	t.Helper()
	api = kubefake.Start()
	t.Cleanup(api.Close)
	dir := t.TempDir()
	kubeconfig, err := api.WriteKubeconfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	stateDir = filepath.Join(dir, "state")
	code, out, errOut := agentCLI(t, "pubkey", "--state-dir", stateDir)
	if code != 0 || !strings.Contains(errOut, "created a new key") {
		t.Fatalf("pubkey: exit %d, stderr %q", code, errOut)
	}
	pub, err := report.ParsePublicKey(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("pubkey printed %q: %v", out, err)
	}
	if code, again, _ := agentCLI(t, "pubkey", "--state-dir", stateDir); code != 0 || again != out {
		t.Fatalf("second pubkey: exit %d, %q, want the same key %q", code, again, out)
	}
	return api, newCollector(t, pub), stateDir, kubeconfig
}

func TestRunOnce(t *testing.T) {
	api, col, stateDir, kc := setupStore(t)
	args := []string{"run", "--once", "--kubeconfig", kc, "--store", "us-il-chicago-0900", "--collector", col.URL, "--state-dir", stateDir, "--log-format", "text"}

	before := uint64(time.Now().UnixMicro())
	code, _, stderr := agentCLI(t, args...)
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, stderr)
	}
	// A new state directory starts seq at the time (a wiped directory
	// must not start below what the collector has seen).
	if got := col.seqs(); len(got) != 1 || got[0] < before || got[0] > uint64(time.Now().UnixMicro()) {
		t.Fatalf("collector accepted %v, want one seq from the start time (>= %d)", got, before)
	}
	// The same directory counts on from there; a wiped one starts above.
	first := col.seqs()[0]
	if code, _, stderr := agentCLI(t, args...); code != 0 || col.seqs()[1] != first+1 {
		t.Fatalf("second run: exit %d, seqs %v, want %d next\n%s", code, col.seqs(), first+1, stderr)
	}
	if err := os.Remove(filepath.Join(stateDir, "seq")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := agentCLI(t, args...); code != 0 || col.seqs()[2] <= first+1 {
		t.Fatalf("after wiping seq: exit %d, seqs %v, want above %d\n%s", code, col.seqs(), first+1, stderr)
	}
	r := col.reports[0]
	if r.Store != "us-il-chicago-0900" || r.Nodes != (report.Nodes{Total: 2, Ready: 1}) || len(r.Apps) != 5 || r.Apps["order-router"].Ready != "false" || !strings.HasPrefix(r.Agent, "fleetc-agent/") {
		t.Errorf("report: %+v", r)
	}
	if strings.Contains(stderr, "ed25519=") || strings.Contains(stderr, "PRIVATE KEY") {
		t.Errorf("the log holds a signature or key material:\n%s", stderr)
	}

	// The collector is down: the report stays, exit 1.
	col.set(http.StatusServiceUnavailable)
	if code, _, stderr := agentCLI(t, args...); code != 1 || !strings.Contains(stderr, "reports still spooled") {
		t.Fatalf("with a 503 collector: exit %d, want 1\n%s", code, stderr)
	}
	// The cluster cannot be read: no report (exit 1), but the spooled one
	// goes out.
	col.set(http.StatusOK)
	api.Answer(kubefake.Nodes, http.StatusForbidden)
	code, _, stderr = agentCLI(t, args...)
	if code != 1 || !strings.Contains(stderr, `cannot list resource \"nodes\"`) || len(col.seqs()) != 4 {
		t.Fatalf("with nodes forbidden: exit %d, accepted %v; want 1, the 403 logged and the spooled report delivered\n%s", code, col.seqs(), stderr)
	}
	api.Answer(kubefake.Nodes, 0)
	if code, _, stderr := agentCLI(t, args...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// After the wipe: one delivered at once; the next spooled during the
	// 503 and delivered while the nodes list failed (a failed read hands
	// out no seq); the last run's right after it.
	if got := col.seqs(); len(got) != 5 || got[3] != got[2]+1 || got[4] != got[2]+2 {
		t.Errorf("collector accepted %v, want the last three consecutive", got)
	}
}

func TestRunEnvAndUsage(t *testing.T) {
	_, col, stateDir, kc := setupStore(t)
	t.Setenv("FLEETC_STORE_ID", "store-1")
	t.Setenv("FLEETC_COLLECTOR_URL", col.URL)
	if code, _, stderr := agentCLI(t, "--once", "--kubeconfig", kc, "--state-dir", stateDir); code != 0 || len(col.seqs()) != 1 || col.reports[0].Store != "store-1" {
		t.Fatalf("store and collector from the environment, run as default command: exit %d\n%s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--store", "Bad_ID"}, "is not a store id"},
		{[]string{"run", "--collector", "ftp://x"}, "want an http(s)://"},
		{[]string{"run", "--interval", "10ms"}, "--interval"},
		{[]string{"run", "--jitter", "1.5"}, "--jitter"},
		{[]string{"run", "--spool-max-bytes", "1KiB"}, "--spool-max-bytes"},
		{[]string{"run", "--spool-max-bytes", "lots"}, "want a positive byte count"},
		{[]string{"run", "--log-format", "xml"}, "--log-format"},
		{[]string{"run", "--log-level", "loud"}, "--log-level"},
		{[]string{"run", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"run", "extra"}, "takes no arguments"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"version", "x"}, "takes no arguments"},
	} {
		code, _, stderr := agentCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	t.Setenv("FLEETC_STORE_ID", "")
	if code, _, stderr := agentCLI(t, "run"); code != 2 || !strings.Contains(stderr, "--store") {
		t.Errorf("no store: exit %d %q", code, stderr)
	}
	// A runtime failure is 1: a kubeconfig that is not there.
	t.Setenv("FLEETC_STORE_ID", "store-1")
	if code, _, stderr := agentCLI(t, "run", "--once", "--kubeconfig", filepath.Join(t.TempDir(), "nope"), "--state-dir", stateDir); code != 1 || !strings.Contains(stderr, "cannot start") {
		t.Errorf("missing kubeconfig: exit %d %q, want 1", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "--help"}, {"pubkey", "-h"}} {
		code, stdout, _ := agentCLI(t, args...)
		for _, want := range []string{"RBAC", "helmreleases.helm.toolkit.fluxcd.io", "nodes", "Fleetc-Signature", "publicKey"} {
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("%v: exit %d, help does not say %q", args, code, want)
			}
		}
	}
	if _, stdout, _ := agentCLI(t, "run", "--help"); !strings.Contains(stdout, "-spool-max-bytes bytes") {
		t.Errorf("run --help does not list its flags:\n%s", stdout)
	}
	if code, stdout, _ := agentCLI(t, "version"); code != 0 || !strings.HasPrefix(stdout, "fleetc-agent ") {
		t.Errorf("version: exit %d %q", code, stdout)
	}
}

// TestSIGTERM runs the agent as a process, reporting every second, and
// stops it with SIGTERM once a report arrived: it exits 0.
func TestSIGTERM(t *testing.T) {
	_, col, stateDir, kc := setupStore(t)
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "run", "--kubeconfig", kc, "--store", "store-1", "--collector", col.URL,
		"--state-dir", stateDir, "--interval", "1s")
	cmd.Env = append(os.Environ(), "FLEETC_AGENT_TEST_MAIN=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(col.seqs()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
	}
	if got := col.seqs(); len(got) < 2 || got[1] != got[0]+1 {
		t.Errorf("collector accepted %v, want consecutive seqs from the loop", got)
	}
	if !strings.Contains(stderr.String(), `"msg":"stopping"`) {
		t.Errorf("no stopping log line:\n%s", stderr.String())
	}
}
