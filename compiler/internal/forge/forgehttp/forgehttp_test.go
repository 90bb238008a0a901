package forgehttp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := Retry{Attempts: 4, Base: time.Second, Max: time.Minute, Now: func() time.Time { return now }}.withDefaults()
	resp := func(code int, h ...string) *http.Response {
		hdr := http.Header{}
		for i := 0; i < len(h); i += 2 {
			hdr.Set(h[i], h[i+1])
		}
		return &http.Response{StatusCode: code, Header: hdr}
	}
	tests := []struct {
		name    string
		attempt int
		resp    *http.Response
		err     error
		wait    time.Duration
		retry   bool
	}{
		{name: "ok", attempt: 1, resp: resp(200)},
		{name: "not found", attempt: 1, resp: resp(404)},
		{name: "conflict", attempt: 1, resp: resp(409)},
		{name: "502 first backoff", attempt: 1, resp: resp(502), wait: time.Second, retry: true},
		{name: "503 third backoff", attempt: 3, resp: resp(503), wait: 4 * time.Second, retry: true},
		{name: "out of attempts", attempt: 4, resp: resp(503)},
		{name: "501 is not transient", attempt: 1, resp: resp(501)},
		{name: "429 retry-after seconds", attempt: 1, resp: resp(429, "Retry-After", "12"), wait: 12 * time.Second, retry: true},
		{name: "429 retry-after date", attempt: 1, resp: resp(429, "Retry-After", now.Add(30*time.Second).UTC().Format(http.TimeFormat)), wait: 30 * time.Second, retry: true},
		{name: "429 too long a wait gives up", attempt: 1, resp: resp(429, "Retry-After", "3600")},
		{name: "github primary rate limit", attempt: 1, resp: resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(now.Unix()+20, 10)), wait: 21 * time.Second, retry: true},
		{name: "gitlab rate limit", attempt: 1, resp: resp(429, "RateLimit-Remaining", "0", "RateLimit-Reset", strconv.FormatInt(now.Unix()+5, 10)), wait: 6 * time.Second, retry: true},
		{name: "403 without rate limit is final", attempt: 1, resp: resp(403, "X-RateLimit-Remaining", "4999")},
		{name: "connection reset", attempt: 2, err: errors.New("connection reset by peer"), wait: 2 * time.Second, retry: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, retry := r.decide(tt.attempt, tt.resp, tt.err)
			if wait != tt.wait || retry != tt.retry {
				t.Fatalf("got %s %v, want %s %v", wait, retry, tt.wait, tt.retry)
			}
		})
	}
}

func TestParseRepoURL(t *testing.T) {
	tests := []struct {
		name, in string
		nested   bool
		want     RepoURL
		err      string
	}{
		{name: "https", in: "https://github.com/acme/deploy.git", want: RepoURL{Scheme: "https", Host: "github.com", Path: "acme/deploy"}},
		{name: "sub-path", in: "http://127.0.0.1:3000/git/acme/deploy", want: RepoURL{Scheme: "http", Host: "127.0.0.1:3000", Prefix: "git", Path: "acme/deploy"}},
		{name: "nested", in: "https://gitlab.com/a/b/c", nested: true, want: RepoURL{Scheme: "https", Host: "gitlab.com", Path: "a/b/c"}},
		{name: "ssh url", in: "ssh://git@gitlab.com:2222/a/b.git", nested: true, want: RepoURL{Scheme: "https", Host: "gitlab.com", Path: "a/b"}},
		{name: "scp-like", in: "git@github.com:acme/deploy.git", want: RepoURL{Scheme: "https", Host: "github.com", Path: "acme/deploy"}},
		{name: "user info dropped", in: "https://oauth2:glpat-x@gitlab.com/a/b", nested: true, want: RepoURL{Scheme: "https", Host: "gitlab.com", Path: "a/b"}},
		{name: "dot-dot", in: "https://github.com/acme/../x", err: "want owner/repo"},
		{name: "no path", in: "https://github.com", err: "want owner/repo"},
		{name: "token never echoed", in: "https://user:ghp_secret@github.com/", err: `repository URL "https://github.com/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRepoURL(tt.in, tt.nested)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseRepoURL(f *testing.F) {
	for _, s := range []string{"https://github.com/a/b", "git@h:a/b.git", "http://h:1/p/a/b/", "https://u:tok@h/a/b/-/x", "ssh://h/a/b"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, nested bool) {
		r, err := ParseRepoURL(in, nested)
		if err != nil {
			if u, perr := url.Parse(in); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) > 3 && strings.Contains(err.Error(), p) {
					t.Fatalf("error shows the password: %v", err)
				}
			}
			return
		}
		if r.Host == "" || r.Path == "" || strings.HasPrefix(r.Path, "/") || strings.HasSuffix(r.Path, "/") || strings.Contains(r.Path, "//") {
			t.Fatalf("%q parsed to %+v", in, r)
		}
		if !nested && strings.Count(r.Path, "/") != 1 {
			t.Fatalf("%q: owner/repo path %q", in, r.Path)
		}
		if r.Owner() == "" || r.Name() == "" {
			t.Fatalf("%q: empty owner or name in %+v", in, r)
		}
	})
}
