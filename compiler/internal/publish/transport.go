package publish

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrInsecureHTTP is a credential (a token, or a password in the
// repository URL) that would travel over plain http://: publish refuses to
// send it unless Options.InsecureHTTP (fleetc publish --insecure-http) says
// the network is trusted.
var ErrInsecureHTTP = errors.New("refusing to send a credential over plain http")

// ErrTimeout is a network step that ran out of time; the error is a
// *TimeoutError naming the host and the limit.
var ErrTimeout = errors.New("timed out")

// TimeoutError is a publish, or one git transfer, that took too long.
type TimeoutError struct {
	What  string        // "publish", "git fetch", …
	Host  string        // the server that did not answer
	Limit time.Duration // the limit that ran out
	Flag  string        // the fleetc flag that sets it
	Stall bool          // no data for Limit (else the whole step took longer)
}

func (e *TimeoutError) Error() string {
	if e.Stall {
		return fmt.Sprintf("%s: %s sent nothing for %s (%s): check that the server is up and reachable, or raise %s",
			e.What, e.Host, e.Limit, e.Flag, e.Flag)
	}
	return fmt.Sprintf("%s: %s did not finish within %s (%s): check that the server is up and reachable, or raise %s",
		e.What, e.Host, e.Limit, e.Flag, e.Flag)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// remote is the deploy repository as git is given it: the URL without its
// user info, the credential in the environment, and every form of the
// secrets that must never be shown.
type remote struct {
	url     string   // what git gets on its command line: no password, ever
	host    string   // for messages: host[:port], or the local path
	env     []string // GIT_CONFIG_* carrying the auth header, scoped to the URL's origin
	secrets []string // the token, the URL's password (decoded and as written), the encoded credential
}

// newRemote splits repoURL into what git may see on its command line and
// the credential it gets through the environment. A password in an
// http(s) URL is the credential (its user the basic-auth user); else the
// token is, sent as user (the URL's user, else the provider's). A
// credential over http:// is refused unless insecureHTTP.
func newRemote(repoURL, user, token string, insecureHTTP bool) (remote, error) {
	r := remote{url: repoURL, host: repoURL, secrets: []string{token}}
	u, err := url.Parse(repoURL)
	if err != nil || !strings.Contains(repoURL, "://") || u.Host == "" {
		if at := strings.IndexByte(repoURL, '@'); at >= 0 && !strings.Contains(repoURL, "://") { // git@host:path
			host, _, _ := strings.Cut(repoURL[at+1:], ":")
			r.host = host
		}
		return r, nil // a local path or an scp-like ssh address: no credential of ours
	}
	r.host = u.Host
	password, hasPassword := "", false
	if u.User != nil {
		password, hasPassword = u.User.Password()
		if hasPassword {
			r.secrets = append(r.secrets, password, u.User.String())
			if i := strings.IndexByte(u.User.String(), ':'); i >= 0 {
				r.secrets = append(r.secrets, u.User.String()[i+1:]) // as escaped in the URL
			}
		}
		if name := u.User.Username(); name != "" {
			user = name
			// https://<token>@host/…: a long user name without a password
			// is taken for a token (short ones, like git@, are not: they
			// would redact words).
			if !hasPassword && len(name) >= 16 && strings.HasPrefix(u.Scheme, "http") {
				r.secrets = append(r.secrets, name, url.User(name).String())
			}
		}
	}
	switch u.Scheme {
	case "http", "https":
		u.User = nil
	default: // ssh://user@host/path: the user is needed, a password is never used
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		r.url = u.String()
		return r, nil
	}
	r.url = u.String()
	secret, what := token, "the token (FLEETC_TOKEN or the provider's token variable)"
	if hasPassword && password != "" {
		secret, what = password, "the password in the repository URL"
	}
	if secret == "" {
		return r, nil
	}
	if u.Scheme == "http" && !insecureHTTP {
		return r, fmt.Errorf("%w: %s would travel unencrypted to %s: use an https:// repository URL, or pass --insecure-http if the network is trusted, e.g. a loopback test server",
			ErrInsecureHTTP, what, u.Host)
	}
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
	r.secrets = append(r.secrets, cred)
	// http.<origin>.extraHeader: sent to this scheme, host and port only.
	origin := u.Scheme + "://" + u.Host + "/"
	r.env = []string{
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=http." + origin + ".extraHeader",
		"GIT_CONFIG_VALUE_0=Authorization: Basic " + cred,
	}
	return r, nil
}

// gitEnv is the environment every git command runs with: fleetc's, without
// the variables that make git print what it sends (GIT_TRACE*, whose curl
// and packet traces carry headers and URLs, and GIT_CURL_VERBOSE), with
// trace2 switched off even where a git config file turns it on, plus
// extra.
func gitEnv(extra ...[]string) []string {
	env := make([]string, 0, len(os.Environ())+16)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if isTraceVar(name) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0",
		"GIT_TRACE2=0", "GIT_TRACE2_EVENT=0", "GIT_TRACE2_PERF=0")
	for _, e := range extra {
		env = append(env, e...)
	}
	return env
}

// isTraceVar reports whether an environment variable makes git trace.
func isTraceVar(name string) bool {
	name = strings.ToUpper(name)
	return strings.HasPrefix(name, "GIT_TRACE") || name == "GIT_CURL_VERBOSE"
}

// stallArgs make git's HTTP transport give up when less than one byte a
// second arrives for stall (curl's low-speed limit; whole seconds).
func stallArgs(stall time.Duration) []string {
	secs := int((stall + time.Second - 1) / time.Second)
	return []string{"-c", "http.lowSpeedLimit=1", "-c", fmt.Sprintf("http.lowSpeedTime=%d", max(secs, 1))}
}

// stalled reports whether git's stderr says curl gave up on a transfer
// that stalled (curl error 28).
func stalled(stderr string) bool {
	return strings.Contains(stderr, "Operation too slow") || strings.Contains(stderr, "curl 28") ||
		strings.Contains(stderr, "Operation timed out")
}

// isNetTimeout reports whether err is a network timeout (an HTTP client's
// Timeout, a dial or read deadline).
func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
