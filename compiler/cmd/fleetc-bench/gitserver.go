package main

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

// gitServer serves the bare repositories under root over HTTP with
// `git http-backend` (the kind of server Flux pulls from) on loopback, for
// measuring publish.
type gitServer struct {
	root string
	url  string
	srv  *http.Server
}

func startGitServer(root string) (*gitServer, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &cgi.Handler{
		Path:   gitPath,
		Args:   []string{"http-backend"},
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=fleetc-bench"},
		Stderr: io.Discard,
	}
	s := &gitServer{root: root, url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: unchunk(h)}}
	go s.srv.Serve(ln)
	return s, nil
}

// newRepo creates an empty bare repository and returns its URL.
func (s *gitServer) newRepo(name string) (string, error) {
	dir := filepath.Join(s.root, name)
	os.RemoveAll(dir)
	if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git init: %v\n%s", err, out)
	}
	return s.url + "/" + name, nil
}

// unchunk buffers chunked request bodies (git sends packs over 1 MiB
// chunked), which net/http/cgi refuses, into a file with a length.
func unchunk(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			f, err := os.CreateTemp("", "fleetc-bench-body-")
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
