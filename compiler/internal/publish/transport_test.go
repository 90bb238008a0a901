package publish

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewRemoteKeepsCredentialsOffTheURL(t *testing.T) {
	tests := []struct {
		name, url, token  string
		wantURL, wantCred string // wantCred: "user:secret" git gets as basic auth, "" none
	}{
		{"token over https", "https://git.example.com/ops/deploy.git", "tok", "https://git.example.com/ops/deploy.git", "fleetc:tok"},
		{"password in the URL wins", "https://bob:p%40ss@git.example.com/ops/deploy.git", "tok", "https://git.example.com/ops/deploy.git", "bob:p@ss"},
		{"user in the URL names the token's user", "https://bot@git.example.com/deploy.git", "tok", "https://git.example.com/deploy.git", "bot:tok"},
		{"no credential", "https://git.example.com/deploy.git", "", "https://git.example.com/deploy.git", ""},
		{"ssh keeps its user, drops a password", "ssh://git:pw@host/deploy.git", "", "ssh://git@host/deploy.git", ""},
		{"scp-like", "git@host:ops/deploy.git", "tok", "git@host:ops/deploy.git", ""},
		{"local path", "/srv/git/deploy.git", "tok", "/srv/git/deploy.git", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newRemote(tt.url, "fleetc", tt.token, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.url != tt.wantURL {
				t.Errorf("url = %q, want %q", r.url, tt.wantURL)
			}
			got := ""
			for _, kv := range r.env {
				if v, ok := strings.CutPrefix(kv, "GIT_CONFIG_VALUE_0=Authorization: Basic "); ok {
					b, _ := base64.StdEncoding.DecodeString(v)
					got = string(b)
				}
			}
			if got != tt.wantCred {
				t.Errorf("credential = %q, want %q (env %q)", got, tt.wantCred, r.env)
			}
			if tt.wantCred != "" && !strings.Contains(strings.Join(r.env, "\n"), "GIT_CONFIG_KEY_0=http.https://") {
				t.Errorf("header not scoped to the URL's origin: %q", r.env)
			}
		})
	}
}

// recorder is an HTTP server on loopback that answers 404 to everything
// and records the Authorization header of every request.
type recorder struct {
	mu    sync.Mutex
	auths []string
	url   string
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.auths = append(rec.auths, r.Header.Get("Authorization"))
		rec.mu.Unlock()
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rec.url = "http://" + ln.Addr().String()
	return rec
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...)
}

// A token or a URL password is never sent over plain http:// without
// InsecureHTTP: the server sees no request at all, and the error says what
// to do. With it, git sends the credential as a basic-auth header.
func TestPublishRefusesCredentialsOverPlainHTTP(t *testing.T) {
	dir := sampleTree(t)
	ctx := context.Background()
	tokenEnv := func(k string) string {
		if k == "FLEETC_TOKEN" {
			return "tok-plain-http"
		}
		return ""
	}
	tests := []struct {
		name     string
		url      func(base string) string
		getenv   func(string) string
		wantAuth string // user:secret
	}{
		{"token", func(b string) string { return b + "/deploy.git" }, tokenEnv, "fleetc:tok-plain-http"},
		{"URL password", func(b string) string {
			return strings.Replace(b, "http://", "http://alice:pw-plain-http@", 1) + "/deploy.git"
		}, noEnv, "alice:pw-plain-http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := startRecorder(t)
			opts := testOptions(t, dir, tt.url(rec.url))
			opts.Getenv = tt.getenv
			_, err := Publish(ctx, opts)
			if !errors.Is(err, ErrInsecureHTTP) {
				t.Fatalf("err = %v, want ErrInsecureHTTP", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "--insecure-http") || !strings.Contains(msg, "https://") || strings.Contains(msg, "pw-plain-http") {
				t.Errorf("error %q should name https:// and --insecure-http, without the secret", msg)
			}
			if got := rec.seen(); len(got) != 0 {
				t.Fatalf("the server got %d requests (%q), want none", len(got), got)
			}

			opts.InsecureHTTP = true
			opts.CacheDir = t.TempDir()
			if _, err := Publish(ctx, opts); err == nil || errors.Is(err, ErrInsecureHTTP) {
				t.Fatalf("err = %v, want the server's 404 once plain http is allowed", err)
			}
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(tt.wantAuth))
			got := rec.seen()
			if len(got) == 0 || got[0] != want {
				t.Fatalf("Authorization = %q, want %q on the first request", got, want)
			}
		})
	}
}

// silentServer accepts connections on loopback and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A server that accepts and never answers fails the publish in seconds,
// with an error naming the host and the limit that ran out.
func TestPublishTimesOutOnSilentServer(t *testing.T) {
	dir := sampleTree(t)
	tests := []struct {
		name           string
		stall, timeout time.Duration
		want           []string
	}{
		{"stall", time.Second, time.Minute, []string{"sent nothing for 1s", "--stall-timeout"}},
		{"whole publish", time.Minute, 2 * time.Second, []string{"did not finish within 2s", "--timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := silentServer(t)
			opts := testOptions(t, dir, "http://"+host+"/deploy.git")
			opts.StallTimeout, opts.Timeout = tt.stall, tt.timeout
			// A safety net far above the limits under test: without them
			// the test fails here rather than hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := Publish(ctx, opts)
			took := time.Since(start)
			t.Logf("after %s: %v", took, err)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v after %s, want ErrTimeout", err, took)
			}
			var te *TimeoutError
			if !errors.As(err, &te) || te.Host != host {
				t.Fatalf("err = %v, want a *TimeoutError naming %s", err, host)
			}
			for _, w := range append(tt.want, host) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if took > 10*time.Second {
				t.Errorf("publish took %s against a silent server, want seconds", took)
			}
		})
	}
}
