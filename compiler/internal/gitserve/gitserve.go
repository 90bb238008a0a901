// Package gitserve runs a real git smart-HTTP server on loopback — `git
// http-backend` (Debian's git) behind Go's net/http/cgi, the kind of server
// Flux pulls from — for fleetc's publish tests and benchmark.
package gitserve

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
)

// Server serves the bare repositories under Root at URL.
type Server struct {
	Root string
	URL  string
	srv  *http.Server
}

// Start serves root (created if missing) on a free loopback port. Pushes
// are accepted: REMOTE_USER is set, as an authenticating proxy would.
func Start(root string) (*Server, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=fleetc"},
		// http-backend's complaints (a missing repository) reach the
		// client as HTTP errors; its stderr adds nothing.
		Stderr: io.Discard,
	}
	s := &Server{Root: root, URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: unchunk(h)}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// NewRepo creates an empty bare repository (HEAD main; replacing one of that name)
// that accepts pushes, and returns its URL.
func (s *Server) NewRepo(name string) (string, error) {
	dir := filepath.Join(s.Root, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"init", "-q", "--bare", "--initial-branch=main", dir}, {"--git-dir", dir, "config", "http.receivepack", "true"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s: %v\n%s", args[0], err, out)
		}
	}
	return s.URL + "/" + name, nil
}

// unchunk buffers chunked request bodies (git sends packs over 1 MiB
// chunked), which net/http/cgi refuses, into a temporary file with a
// Content-Length.
func unchunk(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			f, err := os.CreateTemp("", "fleetc-git-body-")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer os.Remove(f.Name())
			defer f.Close()
			n, err := io.Copy(f, r.Body)
			if err == nil {
				_, err = f.Seek(0, io.SeekStart)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body, r.ContentLength, r.TransferEncoding = f, n, nil
		}
		h.ServeHTTP(w, r)
	})
}
