//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kube is what scripts/kube.sh built: bin/ and crds/.
type Kube struct{ Dir string }

func (k Kube) bin(name string) string { return filepath.Join(k.Dir, "bin", name) }

// Cluster is one store's Kubernetes: its own etcd and kube-apiserver and
// the three Flux controllers, all on loopback ports picked at start.
type Cluster struct {
	Name       string
	Dir        string // data, certificates, kubeconfig and logs/
	Kubeconfig string
	Server     string
	kube       Kube
	token      string
	procs      []*exec.Cmd // started in this order, stopped in reverse
}

// Logs is where each component writes its log.
func (c *Cluster) Logs() string { return filepath.Join(c.Dir, "logs") }

// StartCluster starts etcd, kube-apiserver (token auth, RBAC), applies the
// Flux CRDs and the flux-system namespace, and starts source-, kustomize-
// and helm-controller against it. It returns when the API server is ready
// and the CRDs are established; the caller stops it with Stop.
//
// Ports are picked free and released before the components bind them, so
// another process (another cluster's client connection, on an ephemeral
// port) can take one in between: a start that fails on a port in use is
// retried with new ports, up to three times, its logs kept aside.
func StartCluster(ctx context.Context, kube Kube, dir, name string) (*Cluster, error) {
	for attempt := 1; ; attempt++ {
		c := &Cluster{Name: name, Dir: dir, kube: kube, token: "e2e-" + name}
		err := c.start(ctx)
		if err == nil {
			return c, nil
		}
		c.Stop()
		if attempt < 3 && c.portTaken() {
			if rerr := os.Rename(dir, fmt.Sprintf("%s.port-in-use-%d", dir, attempt)); rerr == nil {
				continue
			}
		}
		return nil, fmt.Errorf("cluster %s (logs in %s): %w", name, c.Logs(), err)
	}
}

// portTaken reports whether a component's log says its port was in use.
func (c *Cluster) portTaken() bool {
	logs, _ := filepath.Glob(filepath.Join(c.Logs(), "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil && bytes.Contains(b, []byte("address already in use")) {
			return true
		}
	}
	return false
}

func (c *Cluster) start(ctx context.Context) error {
	for _, d := range []string{c.Logs(), filepath.Join(c.Dir, "certs"), filepath.Join(c.Dir, "storage")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	ports, err := freePorts(9)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, api := ports[0], ports[1], ports[2]
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

	etcd, err := start(c.Logs(), "etcd", nil, c.kube.bin("etcd"),
		"--name", c.Name, "--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", "http://"+addr(etcdClient), "--advertise-client-urls", "http://"+addr(etcdClient),
		"--listen-peer-urls", "http://"+addr(etcdPeer), "--initial-advertise-peer-urls", "http://"+addr(etcdPeer),
		"--initial-cluster", c.Name+"=http://"+addr(etcdPeer), "--log-level", "warn", "--unsafe-no-fsync")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, etcd)

	if err := c.writeKeys(); err != nil {
		return err
	}
	certs := filepath.Join(c.Dir, "certs")
	apiserver, err := start(c.Logs(), "kube-apiserver", nil, c.kube.bin("kube-apiserver"),
		"--etcd-servers", "http://"+addr(etcdClient),
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(api),
		"--cert-dir", certs, "--token-auth-file", filepath.Join(certs, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(certs, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(certs, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, apiserver)
	c.Server = "https://" + addr(api)
	if err := c.writeKubeconfig(); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	if _, err := c.Kubectl(ctx, "apply", "--server-side", "-f", filepath.Join(c.kube.Dir, "crds")); err != nil {
		return err
	}
	if _, err := c.Kubectl(ctx, "wait", "--for", "condition=established", "--timeout", "60s", "crd", "--all"); err != nil {
		return err
	}
	if _, err := c.Kubectl(ctx, "create", "namespace", "flux-system"); err != nil {
		return err
	}

	env := []string{"KUBECONFIG=" + c.Kubeconfig, "RUNTIME_NAMESPACE=flux-system"}
	common := func(metrics, health int) []string {
		return []string{"--enable-leader-election=false", "--metrics-addr", addr(metrics), "--health-addr", addr(health), "--log-level", "debug"}
	}
	storage := addr(ports[3])
	controllers := []struct {
		name string
		args []string
	}{
		{"source-controller", append(common(ports[4], ports[5]),
			"--storage-path", filepath.Join(c.Dir, "storage"), "--storage-addr", storage, "--storage-adv-addr", storage)},
		{"kustomize-controller", append(common(ports[6], ports[7]), "--requeue-dependency", "5s")},
		{"helm-controller", append(common(ports[8], freePort()), "--requeue-dependency", "5s")},
	}
	for _, ctl := range controllers {
		p, err := start(c.Logs(), ctl.name, env, c.kube.bin(ctl.name), ctl.args...)
		if err != nil {
			return err
		}
		c.procs = append(c.procs, p)
	}
	return nil
}

func freePort() int {
	p, err := freePorts(1)
	if err != nil {
		return 0
	}
	return p[0]
}

// writeKeys writes the service-account signing key pair and the token file
// (one admin token in system:masters).
func (c *Cluster) writeKeys() error {
	certs := filepath.Join(c.Dir, "certs")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(c.token + ",admin,admin,system:masters\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(certs, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: admin
current-context: %[1]s
`, c.Name, c.Server, c.token)
	return os.WriteFile(c.Kubeconfig, []byte(cfg), 0o600)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return poll(ctx, 200*time.Millisecond, func() (bool, string, error) {
		for _, p := range c.procs {
			if p.ProcessState != nil {
				return false, "", fmt.Errorf("%s exited: %v", p.Path, p.ProcessState)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status, nil
	})
}

// Stop stops the controllers, then the API server, then etcd.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		stop(c.procs[i])
	}
	c.procs = nil
}

// Kubectl runs kubectl against the cluster and returns its stdout.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return c.KubectlIn(ctx, nil, args...)
}

// KubectlIn runs kubectl with stdin.
func (c *Cluster) KubectlIn(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.kube.bin("kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: kubectl %s: %v: %s", c.Name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Object is the part of a Kubernetes object the assertions read.
type Object struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Generation  int64             `json:"generation"`
	} `json:"metadata"`
	Spec   map[string]any    `json:"spec"`
	Data   map[string]string `json:"data"`
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
		ObservedGeneration    int64  `json:"observedGeneration"`
		LastAppliedRevision   string `json:"lastAppliedRevision"`
		LastAttemptedRevision string `json:"lastAttemptedRevision"`
		Artifact              *struct {
			Revision string `json:"revision"`
		} `json:"artifact"`
		History []map[string]any `json:"history"`
	} `json:"status"`
}

// Ready reports the Ready condition: "True", "False", "Unknown" or "" (none
// yet), with its reason and message.
func (o *Object) Ready() (status, reason, msg string) {
	for _, c := range o.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status, c.Reason, c.Message
		}
	}
	return "", "", ""
}

// Get reads one object; found is false when it does not exist.
func (c *Cluster) Get(ctx context.Context, kind, namespace, name string) (*Object, bool, error) {
	args := []string{"get", kind, name, "-o", "json", "--ignore-not-found"}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	out, err := c.Kubectl(ctx, args...)
	if err != nil {
		return nil, false, err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, false, nil
	}
	var o Object
	if err := json.Unmarshal(out, &o); err != nil {
		return nil, false, fmt.Errorf("%s %s/%s: %w", kind, namespace, name, err)
	}
	return &o, true, nil
}

// List reads every object of kind in namespace ("" for all).
func (c *Cluster) List(ctx context.Context, kind, namespace string) ([]Object, error) {
	args := []string{"get", kind, "-o", "json"}
	if namespace == "" {
		args = append(args, "-A")
	} else {
		args = append(args, "-n", namespace)
	}
	out, err := c.Kubectl(ctx, args...)
	if err != nil {
		return nil, err
	}
	var l struct{ Items []Object }
	if err := json.Unmarshal(out, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}
