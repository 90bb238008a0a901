package forgehttp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Option configures a forge constructor (github.New, gitlab.New, gitea.New).
type Option func(*Config)

// Config is what the options set.
type Config struct {
	APIURL  string // API base; default derived from the repository URL
	Client  *http.Client
	Retry   Retry
	Log     func(format string, args ...any)
	Timeout time.Duration // per request; default DefaultTimeout
	// InsecureHTTP lets a request that carries a credential go over plain
	// http:// (see Transport).
	InsecureHTTP bool
}

// DefaultTimeout bounds each forge API request unless WithTimeout (or the
// client given to WithHTTPClient) says otherwise.
const DefaultTimeout = 60 * time.Second

// WithTimeout bounds each API request (connecting, waiting, reading the
// body); d <= 0 keeps the default.
func WithTimeout(d time.Duration) Option { return func(c *Config) { c.Timeout = d } }

// WithInsecureHTTP allows sending the token over plain http:// (a trusted
// network, a loopback test server). Without it such a request fails with
// ErrInsecureHTTP before anything is sent.
func WithInsecureHTTP() Option { return func(c *Config) { c.InsecureHTTP = true } }

// WithAPIURL overrides the API base URL derived from the repository URL,
// e.g. an emulator in tests or a proxy.
func WithAPIURL(u string) Option { return func(c *Config) { c.APIURL = u } }

// WithHTTPClient uses client's transport underneath the retrying one.
func WithHTTPClient(client *http.Client) Option { return func(c *Config) { c.Client = client } }

// WithRetry sets the retry policy.
func WithRetry(r Retry) Option { return func(c *Config) { c.Retry = r } }

// WithLog receives one line per retry (never a token).
func WithLog(log func(format string, args ...any)) Option { return func(c *Config) { c.Log = log } }

// Apply runs opts and returns the config with an HTTP client whose
// transport retries.
func Apply(opts []Option) Config {
	var c Config
	for _, o := range opts {
		o(&c)
	}
	var base http.RoundTripper
	timeout := DefaultTimeout
	if c.Client != nil {
		base = c.Client.Transport
		if c.Client.Timeout > 0 {
			timeout = c.Client.Timeout
		}
	}
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	c.Timeout = timeout
	c.Client = &http.Client{Transport: &Transport{Base: base, Retry: c.Retry, Log: c.Log, InsecureHTTP: c.InsecureHTTP}, Timeout: timeout}
	return c
}

// RepoURL is a repository URL split into what the forges need.
type RepoURL struct {
	Scheme string // https or http (scp-like ssh addresses become https)
	Host   string // host[:port]
	Prefix string // path before the repository, e.g. a Gitea sub-path ("" usually)
	Path   string // owner/repo, or group/subgroup/project for GitLab, no .git
}

// ParseRepoURL parses https://host/owner/repo(.git), http://…, and the
// scp-like git@host:owner/repo.git. minSegments is how many trailing path
// segments name the repository when prefix is false (2 for owner/repo);
// with nested true every segment belongs to the path (GitLab groups).
// User info in the URL is dropped.
func ParseRepoURL(raw string, nested bool) (RepoURL, error) {
	s := strings.TrimSpace(raw)
	var u *url.URL
	if !strings.Contains(s, "://") {
		host, path, ok := strings.Cut(s, ":")
		if !ok || host == "" {
			return RepoURL{}, fmt.Errorf("repository URL %q: want https://host/owner/repo", Redact(raw))
		}
		if at := strings.LastIndex(host, "@"); at >= 0 {
			host = host[at+1:]
		}
		u = &url.URL{Scheme: "https", Host: host, Path: "/" + path}
	} else {
		var err error
		u, err = url.Parse(s)
		if err != nil {
			return RepoURL{}, fmt.Errorf("repository URL %q: bad URL", Redact(raw))
		}
		switch u.Scheme {
		case "https", "http":
		case "ssh":
			u.Scheme = "https"
			u.Host = u.Hostname()
		default:
			return RepoURL{}, fmt.Errorf("repository URL %q: unsupported scheme %q", Redact(raw), u.Scheme)
		}
	}
	if u.Host == "" {
		return RepoURL{}, fmt.Errorf("repository URL %q: no host", Redact(raw))
	}
	path := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if i := strings.Index(path, "/-/"); i >= 0 { // GitLab web paths
		path = path[:i]
	}
	segs := strings.Split(path, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return RepoURL{}, fmt.Errorf("repository URL %q: want owner/repo in the path", Redact(raw))
		}
	}
	if len(segs) < 2 {
		return RepoURL{}, fmt.Errorf("repository URL %q: want owner/repo in the path", Redact(raw))
	}
	r := RepoURL{Scheme: u.Scheme, Host: u.Host}
	if nested {
		r.Path = path
	} else {
		r.Prefix = strings.Join(segs[:len(segs)-2], "/")
		r.Path = strings.Join(segs[len(segs)-2:], "/")
	}
	return r, nil
}

// Origin is scheme://host plus the prefix, without a trailing slash.
func (r RepoURL) Origin() string {
	o := r.Scheme + "://" + r.Host
	if r.Prefix != "" {
		o += "/" + r.Prefix
	}
	return o
}

// Owner and Name split an owner/repo path.
func (r RepoURL) Owner() string { o, _, _ := strings.Cut(r.Path, "/"); return o }

// Name is the repository name (the last path segment).
func (r RepoURL) Name() string { return r.Path[strings.LastIndex(r.Path, "/")+1:] }

// Redact removes user info (tokens pasted into URLs) from s when s is a URL.
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	// user info ends at the last @ before the path
	end := len(s)
	if j := strings.IndexByte(s[start:], '/'); j >= 0 {
		end = start + j
	}
	if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
		return s[:start] + s[start+at+1:]
	}
	return s
}

// Scrub replaces every occurrence of token in s.
func Scrub(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
