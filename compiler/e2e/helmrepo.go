//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// HelmRepo is a Helm chart repository over HTTP on loopback: index.yaml and
// the packaged charts, as `helm repo index` would serve them.
type HelmRepo struct {
	URL    string
	srv    *http.Server
	mu     sync.Mutex
	charts map[string][]byte // file name -> .tgz
	index  []indexEntry
	hits   map[string]int
}

type indexEntry struct{ name, version, file, digest string }

// StartHelmRepo serves an empty repository.
func StartHelmRepo() (*HelmRepo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &HelmRepo{URL: "http://" + ln.Addr().String(), charts: map[string][]byte{}, hits: map[string]int{}}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *HelmRepo) Close() error { return r.srv.Close() }

func (r *HelmRepo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := strings.TrimPrefix(req.URL.Path, "/")
	r.hits[name]++
	if name == "index.yaml" {
		w.Header().Set("Content-Type", "application/x-yaml")
		w.Write(r.indexYAML())
		return
	}
	b, ok := r.charts[name]
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Write(b)
}

// Hits is how often a path was fetched.
func (r *HelmRepo) Hits(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[path]
}

func (r *HelmRepo) indexYAML() []byte {
	entries := map[string][]indexEntry{}
	for _, e := range r.index {
		entries[e.name] = append(entries[e.name], e)
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nentries:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n", n)
		for _, e := range entries[n] {
			fmt.Fprintf(&b, "  - apiVersion: v2\n    name: %s\n    version: %s\n    created: \"2026-11-01T00:00:00Z\"\n    digest: %s\n    urls:\n    - %s/%s\n",
				e.name, e.version, e.digest, r.URL, e.file)
		}
	}
	b.WriteString("generated: \"2026-11-01T00:00:00Z\"\n")
	return b.Bytes()
}

// Add packages a chart from files (paths inside the chart directory, e.g.
// "templates/configmap.yaml"; Chart.yaml is written from name and
// version) and lists it in the index.
func (r *HelmRepo) Add(name, version string, files map[string]string) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	all := map[string]string{"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ntype: application\n", name, version)}
	for p, c := range files {
		all[p] = c
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		hdr := &tar.Header{Name: name + "/" + p, Mode: 0o644, Size: int64(len(all[p])), ModTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(all[p])); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	file := fmt.Sprintf("%s-%s.tgz", name, version)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.charts[file] = buf.Bytes()
	r.index = append(r.index, indexEntry{name, version, file, hex.EncodeToString(sum[:])})
	return nil
}
