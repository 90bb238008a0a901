package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiServer serves GET /api/v1/nodes, echoing who asked: the bearer token
// or the client certificate's common name.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = "cert:" + r.TLS.PeerCertificates[0].Subject.CommonName
		}
		if r.URL.Path != "/api/v1/nodes" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"%s is forbidden: User \"%s\" cannot list resource"}`, r.URL.Path, who)
			return
		}
		fmt.Fprintf(w, `{"kind":"NodeList","items":[{"metadata":{"name":%q}}]}`, who)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func caPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// clientCert makes a self-signed client certificate and key in PEM.
func clientCert(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func kubeconfigFile(t *testing.T, dir, cluster, user string) string {
	return write(t, dir, "config", `apiVersion: v1
kind: Config
current-context: store
contexts:
- name: other
  context: {cluster: nowhere, user: nobody}
- name: store
  context: {cluster: store, user: agent, namespace: flux-system}
clusters:
- name: store
  cluster:
`+cluster+`
users:
- name: agent
  user:
`+user+"\n")
}

func nodeName(t *testing.T, cfg *Config) string {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	if err := New(cfg, 5*time.Second).List(context.Background(), "/api/v1/nodes", &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d items, want 1", len(list.Items))
	}
	return list.Items[0].Metadata.Name
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestKubeconfigTokenAndCAData(t *testing.T) {
	srv := apiServer(t)
	dir := t.TempDir()
	cfg, err := LoadKubeconfig(kubeconfigFile(t, dir,
		"    server: "+srv.URL+"/\n    certificate-authority-data: "+b64(caPEM(srv)),
		"    token: s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server != srv.URL {
		t.Errorf("server %q, want %q (trailing slash trimmed)", cfg.Server, srv.URL)
	}
	if got := nodeName(t, cfg); got != "s3cret" {
		t.Errorf("server saw %q, want the token", got)
	}
}

func TestKubeconfigTokenFileRelativeAndRotating(t *testing.T) {
	srv := apiServer(t)
	dir := t.TempDir()
	write(t, dir, "ca.crt", string(caPEM(srv)))
	tok := write(t, dir, "token", "first\n")
	cfg, err := LoadKubeconfig(kubeconfigFile(t, dir,
		"    server: "+srv.URL+"\n    certificate-authority: ca.crt",
		"    tokenFile: token"))
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeName(t, cfg); got != "first" {
		t.Errorf("server saw %q, want first", got)
	}
	if err := os.WriteFile(tok, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := nodeName(t, cfg); got != "second" {
		t.Errorf("after rotation server saw %q, want second", got)
	}
}

func TestKubeconfigClientCertData(t *testing.T) {
	srv := apiServer(t)
	cert, key := clientCert(t, "system:node:store")
	cfg, err := LoadKubeconfig(kubeconfigFile(t, t.TempDir(),
		"    server: "+srv.URL+"\n    certificate-authority-data: "+b64(caPEM(srv)),
		"    client-certificate-data: "+b64(cert)+"\n    client-key-data: "+b64(key)))
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeName(t, cfg); got != "cert:system:node:store" {
		t.Errorf("server saw %q, want the client certificate", got)
	}
}

func TestKubeconfigMergedList(t *testing.T) {
	srv := apiServer(t)
	dir := t.TempDir()
	first := write(t, dir, "a", "current-context: store\n")
	second := kubeconfigFile(t, dir, "    server: "+srv.URL+"\n    insecure-skip-tls-verify: true", "    token: merged")
	t.Setenv("KUBECONFIG", first+string(filepath.ListSeparator)+second)
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeName(t, cfg); got != "merged" {
		t.Errorf("server saw %q, want merged", got)
	}
}

func TestKubeconfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, cluster, user, want string
	}{
		{"no server", "    insecure-skip-tls-verify: true", "    token: x", `cluster "store" has no server`},
		{"bad CA", "    server: https://x\n    certificate-authority-data: " + b64([]byte("nope")), "    token: x", "holds no PEM certificate"},
		{"missing CA file", "    server: https://x\n    certificate-authority: missing.crt", "    token: x", "certificate-authority: open " + filepath.Join(dir, "missing.crt")},
		{"missing token file", "    server: https://x", "    tokenFile: /nonexistent/token", "tokenFile: stat /nonexistent/token"},
		{"exec", "    server: https://x", "    exec: {command: aws}", "exec or auth-provider plugin"},
		{"cert without key", "    server: https://x", "    client-certificate-data: " + b64([]byte("x")), "client-certificate without client-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := kubeconfigFile(t, dir, tc.cluster, tc.user)
			_, err := LoadKubeconfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %v, want one naming %s and saying %q", err, p, tc.want)
			}
		})
	}
	p := write(t, dir, "noctx", "current-context: gone\n")
	if _, err := LoadKubeconfig(p); err == nil || !strings.Contains(err.Error(), "context gone") {
		t.Errorf("missing context: err %v", err)
	}
	if _, err := LoadKubeconfig(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: err %v", err)
	}
}

func TestInCluster(t *testing.T) {
	srv := apiServer(t)
	dir := t.TempDir()
	write(t, dir, "ca.crt", string(caPEM(srv)))
	write(t, dir, "token", "sa-token")
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
	cfg, err := inCluster(dir, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeName(t, cfg); got != "sa-token" {
		t.Errorf("server saw %q, want the service account token", got)
	}
	if _, err := inCluster(dir, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
		t.Errorf("outside a cluster: err %v", err)
	}
	if _, err := inCluster(t.TempDir(), func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("no token: err %v", err)
	}
}

func TestListForbiddenSaysWhat(t *testing.T) {
	srv := apiServer(t)
	c := New(&Config{Server: srv.URL, TLS: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}, Token: "agent"}, 5*time.Second)
	err := c.List(context.Background(), "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases", &struct{}{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 403 || se.Reason != "Forbidden" {
		t.Fatalf("err %v, want a 403 StatusError", err)
	}
	for _, want := range []string{"403 Forbidden", "/helmreleases is forbidden", `User "agent"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
