// Package kube is the little of a Kubernetes API client fleetc-agent needs:
// the connection from in-cluster service-account files or a kubeconfig,
// and GET of a collection as JSON. Plain net/http, no client-go, so the
// agent binary stays small.
package kube

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config says how to reach and authenticate to an API server.
type Config struct {
	Server string      // https://host:port
	TLS    *tls.Config // roots, client certificate, server name
	// Token is a bearer token. TokenFile, when set, is read again on every
	// request instead: bound service-account tokens rotate.
	Token     string
	TokenFile string
	// Source names where the config came from, for errors: "in-cluster"
	// or "kubeconfig FILE, context NAME".
	Source string
}

// ServiceAccountDir holds the token and CA a pod's service account mounts.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Load picks the config: the kubeconfig file at path when path is set,
// else the files $KUBECONFIG lists, else the in-cluster service account.
func Load(path string) (*Config, error) {
	if path != "" {
		return LoadKubeconfig(path)
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return LoadKubeconfig(filepath.SplitList(env)...)
	}
	return InCluster()
}

// InCluster reads the config of a pod: KUBERNETES_SERVICE_HOST and _PORT
// and the service account's token and ca.crt.
func InCluster() (*Config, error) {
	return inCluster(ServiceAccountDir, os.Getenv)
}

func inCluster(dir string, getenv func(string) string) (*Config, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("no Kubernetes API: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset), and neither --kubeconfig nor $KUBECONFIG is set")
	}
	token := filepath.Join(dir, "token")
	if _, err := os.Stat(token); err != nil {
		return nil, fmt.Errorf("in-cluster: service account token: %w (is automountServiceAccountToken off?)", err)
	}
	ca := filepath.Join(dir, "ca.crt")
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("in-cluster: service account CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("in-cluster: %s holds no PEM certificate", ca)
	}
	return &Config{
		Server:    "https://" + net.JoinHostPort(host, port),
		TLS:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TokenFile: token,
		Source:    "in-cluster",
	}, nil
}

// kubeconfig is the part of a kubeconfig file the agent reads. Fields it
// cannot honour are read only to refuse them with a clear error.
type kubeconfig struct {
	CurrentContext string         `json:"current-context"`
	Clusters       []namedCluster `json:"clusters"`
	Users          []namedUser    `json:"users"`
	Contexts       []namedContext `json:"contexts"`
}

type namedCluster struct {
	Name    string `json:"name"`
	Cluster struct {
		Server                   string `json:"server"`
		CertificateAuthority     string `json:"certificate-authority"`
		CertificateAuthorityData []byte `json:"certificate-authority-data"`
		InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
		TLSServerName            string `json:"tls-server-name"`
	} `json:"cluster"`
}

type namedUser struct {
	Name string `json:"name"`
	User struct {
		Token                 string         `json:"token"`
		TokenFile             string         `json:"tokenFile"`
		ClientCertificate     string         `json:"client-certificate"`
		ClientCertificateData []byte         `json:"client-certificate-data"`
		ClientKey             string         `json:"client-key"`
		ClientKeyData         []byte         `json:"client-key-data"`
		Exec                  map[string]any `json:"exec"`
		AuthProvider          map[string]any `json:"auth-provider"`
		Username              string         `json:"username"`
	} `json:"user"`
}

type namedContext struct {
	Name    string `json:"name"`
	Context struct {
		Cluster string `json:"cluster"`
		User    string `json:"user"`
	} `json:"context"`
}

// LoadKubeconfig reads the current context of the kubeconfig files, merged
// as kubectl does: the first file to set current-context, or to define a
// cluster, user or context of a name, wins. Relative file paths in a file
// are relative to its directory.
func LoadKubeconfig(paths ...string) (*Config, error) {
	var merged kubeconfig
	var files []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		var kc kubeconfig
		if err := yaml.Unmarshal(b, &kc); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", p, err)
		}
		dir := filepath.Dir(p)
		abs := func(f string) string {
			if f == "" || filepath.IsAbs(f) {
				return f
			}
			return filepath.Join(dir, f)
		}
		for i := range kc.Clusters {
			c := &kc.Clusters[i].Cluster
			c.CertificateAuthority = abs(c.CertificateAuthority)
		}
		for i := range kc.Users {
			u := &kc.Users[i].User
			u.TokenFile, u.ClientCertificate, u.ClientKey = abs(u.TokenFile), abs(u.ClientCertificate), abs(u.ClientKey)
		}
		if merged.CurrentContext == "" {
			merged.CurrentContext = kc.CurrentContext
		}
		merged.Clusters = append(merged.Clusters, kc.Clusters...)
		merged.Users = append(merged.Users, kc.Users...)
		merged.Contexts = append(merged.Contexts, kc.Contexts...)
		files = append(files, p)
	}
	if len(files) == 0 {
		return nil, errors.New("kubeconfig: no file given")
	}
	where := "kubeconfig " + strings.Join(files, string(filepath.ListSeparator))
	if merged.CurrentContext == "" {
		return nil, fmt.Errorf("%s: no current-context", where)
	}
	where += ", context " + merged.CurrentContext
	ctxIdx := slices.IndexFunc(merged.Contexts, func(c namedContext) bool { return c.Name == merged.CurrentContext })
	if ctxIdx < 0 {
		return nil, fmt.Errorf("%s: current-context names no context in contexts", where)
	}
	kctx := merged.Contexts[ctxIdx].Context
	ci := slices.IndexFunc(merged.Clusters, func(c namedCluster) bool { return c.Name == kctx.Cluster })
	if ci < 0 {
		return nil, fmt.Errorf("%s: cluster %q is not in clusters", where, kctx.Cluster)
	}
	cl := merged.Clusters[ci].Cluster
	if cl.Server == "" {
		return nil, fmt.Errorf("%s: cluster %q has no server", where, kctx.Cluster)
	}
	cfg := &Config{Server: strings.TrimSuffix(cl.Server, "/"), Source: where}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cl.TLSServerName, InsecureSkipVerify: cl.InsecureSkipTLSVerify}
	caPEM := cl.CertificateAuthorityData
	if len(caPEM) == 0 && cl.CertificateAuthority != "" {
		b, err := os.ReadFile(cl.CertificateAuthority)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate-authority: %w", where, err)
		}
		caPEM = b
	}
	if len(caPEM) > 0 {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%s: cluster %q: certificate authority holds no PEM certificate", where, kctx.Cluster)
		}
	}
	cfg.TLS = tc
	if kctx.User == "" {
		return cfg, nil // anonymous
	}
	ui := slices.IndexFunc(merged.Users, func(u namedUser) bool { return u.Name == kctx.User })
	if ui < 0 {
		return nil, fmt.Errorf("%s: user %q is not in users", where, kctx.User)
	}
	u := merged.Users[ui].User
	switch {
	case u.Exec != nil, u.AuthProvider != nil:
		return nil, fmt.Errorf("%s: user %q authenticates with an exec or auth-provider plugin, which fleetc-agent does not run; give it a token, tokenFile or client certificate", where, kctx.User)
	case u.Username != "":
		return nil, fmt.Errorf("%s: user %q uses a username and password, which fleetc-agent does not support; give it a token, tokenFile or client certificate", where, kctx.User)
	}
	cfg.Token, cfg.TokenFile = u.Token, u.TokenFile
	if cfg.TokenFile != "" {
		if _, err := os.Stat(cfg.TokenFile); err != nil {
			return nil, fmt.Errorf("%s: user %q: tokenFile: %w", where, kctx.User, err)
		}
	}
	certPEM, keyPEM := u.ClientCertificateData, u.ClientKeyData
	for _, f := range []struct {
		data *[]byte
		file string
		name string
	}{{&certPEM, u.ClientCertificate, "client-certificate"}, {&keyPEM, u.ClientKey, "client-key"}} {
		if len(*f.data) == 0 && f.file != "" {
			b, err := os.ReadFile(f.file)
			if err != nil {
				return nil, fmt.Errorf("%s: user %q: %s: %w", where, kctx.User, f.name, err)
			}
			*f.data = b
		}
	}
	switch {
	case len(certPEM) > 0 && len(keyPEM) > 0:
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: user %q: client certificate: %w", where, kctx.User, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case len(certPEM) > 0:
		return nil, fmt.Errorf("%s: user %q: client-certificate without client-key(-data)", where, kctx.User)
	case len(keyPEM) > 0:
		return nil, fmt.Errorf("%s: user %q: client-key without client-certificate(-data)", where, kctx.User)
	}
	return cfg, nil
}
