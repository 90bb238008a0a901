// Package kubefake is a stand-in Kubernetes API server for tests and
// footprint measurements: it serves the three lists fleetc-agent reads,
// in the shape a real API server answers (testdata/*.json, recorded
// fields included), behind a bearer token over TLS, and answers like the
// real one when a list is forbidden or unknown.
package kubefake

import (
	"embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Token is the bearer token the server accepts.
const Token = "kubefake-token"

// Paths of the lists, in namespace flux-system.
const (
	Nodes          = "/api/v1/nodes"
	Kustomizations = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
	HelmReleases   = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases"
)

// Server is a running fake API server.
type Server struct {
	*httptest.Server
	mu     sync.Mutex
	status map[string]int // path → status to answer instead of the list
}

// Start starts a server; Close it when done.
func Start() *Server {
	s := &Server{status: map[string]int{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Answer makes GET path answer status (403, 404, 500) from now on; 0 goes
// back to the list.
func (s *Server) Answer(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[path] = status
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	status := s.status[r.URL.Path]
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+Token {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	file := map[string]string{Nodes: "nodes.json", Kustomizations: "kustomizations.json", HelmReleases: "helmreleases.json"}[r.URL.Path]
	if r.Method != http.MethodGet || file == "" {
		status = http.StatusNotFound
	}
	resource, group := path.Base(r.URL.Path), groupOf(r.URL.Path)
	qualified := resource
	if group != "" {
		qualified += "." + group
	}
	switch status {
	case 0:
	case http.StatusForbidden:
		writeStatus(w, status, "Forbidden", fmt.Sprintf(`%s is forbidden: User "system:serviceaccount:fleetc-system:fleetc-agent" cannot list resource %q in API group %q`, qualified, resource, group))
		return
	case http.StatusNotFound:
		writeStatus(w, status, "NotFound", "the server could not find the requested resource")
		return
	default:
		writeStatus(w, status, "InternalError", "an error on the server has prevented the request from succeeding")
		return
	}
	b, err := fixtures.ReadFile("testdata/" + file)
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func groupOf(p string) string {
	if g, ok := strings.CutPrefix(p, "/apis/"); ok {
		g, _, _ = strings.Cut(g, "/")
		return g
	}
	return ""
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}

// WriteKubeconfig writes a kubeconfig for the server into dir (its CA as
// certificate-authority-data, the token) and returns its path.
func (s *Server) WriteKubeconfig(dir string) (string, error) {
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
	p := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: store
contexts:
- name: store
  context: {cluster: store, user: fleetc-agent}
clusters:
- name: store
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: fleetc-agent
  user:
    token: %s
`, s.URL, ca, Token)
	return p, os.WriteFile(p, []byte(kc), 0o600)
}
