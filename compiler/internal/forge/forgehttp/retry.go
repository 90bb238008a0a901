package forgehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Retry says how a Transport retries.
type Retry struct {
	Attempts int           // total attempts, at least 1 (default 4)
	Base     time.Duration // first backoff (default 500ms), doubled per attempt
	Max      time.Duration // longest single wait (default 60s); a longer Retry-After gives up
	// Sleep waits d or until ctx ends; tests replace it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for rate-limit reset times. Default: time.Now.
	Now func() time.Time
}

func (r Retry) withDefaults() Retry {
	if r.Attempts < 1 {
		r.Attempts = 4
	}
	if r.Base <= 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 60 * time.Second
	}
	if r.Sleep == nil {
		r.Sleep = sleepCtx
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Transport retries transient failures: connection errors, 5xx, 429, and
// 403 responses that say the rate limit is used up. It replays request
// bodies with Request.GetBody and logs (method, path, status, wait) through
// Log — never headers, so never the token. A request that carries a
// credential over plain http:// fails with ErrInsecureHTTP, unsent, unless
// InsecureHTTP.
type Transport struct {
	Base         http.RoundTripper // default http.DefaultTransport
	Retry        Retry
	Log          func(format string, args ...any)
	InsecureHTTP bool
}

// ErrInsecureHTTP is a request with a credential to a plain http:// URL.
var ErrInsecureHTTP = errors.New("refusing to send a credential over plain http")

// credentialHeaders are the request headers the forges put tokens in.
var credentialHeaders = []string{"Authorization", "Private-Token", "Job-Token", "Cookie"}

func carriesCredential(req *http.Request) bool {
	for _, h := range credentialHeaders {
		if req.Header.Get(h) != "" {
			return true
		}
	}
	return req.URL.User != nil
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.InsecureHTTP && carriesCredential(req) {
		return nil, fmt.Errorf("%w: the token would travel unencrypted to %s: use an https:// URL, or pass --insecure-http if the network is trusted, e.g. a loopback test server",
			ErrInsecureHTTP, req.URL.Host)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	r := t.Retry.withDefaults()
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 {
			if req.Body != nil && req.GetBody == nil {
				return nil, errors.New("retry: request body cannot be replayed")
			}
			try = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		resp, err := base.RoundTrip(try)
		wait, retry := r.decide(attempt, resp, err)
		if !retry {
			return resp, err
		}
		if t.Log != nil {
			what := "connection error"
			if resp != nil {
				what = resp.Status
			}
			t.Log("forge: %s %s: %s, retrying in %s", req.Method, req.URL.Path, what, wait)
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := r.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide reports whether attempt's outcome is retried and after how long.
func (r Retry) decide(attempt int, resp *http.Response, err error) (time.Duration, bool) {
	if attempt >= r.Attempts {
		return 0, false
	}
	backoff := r.Base << (attempt - 1)
	if backoff > r.Max || backoff <= 0 {
		backoff = r.Max
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, false
		}
		return backoff, true
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented,
		resp.StatusCode == http.StatusForbidden && rateLimited(resp):
	default:
		return 0, false
	}
	wait, told := r.serverWait(resp)
	if !told {
		return backoff, true
	}
	if wait > r.Max {
		return 0, false // the caller sees the 429/403 rather than hanging
	}
	return wait, true
}

// rateLimited reports whether a 403 is GitHub's primary or secondary rate limit.
func rateLimited(resp *http.Response) bool {
	return resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != ""
}

// serverWait is how long the server asked to wait, if it said.
func (r Retry) serverWait(resp *http.Response) (time.Duration, bool) {
	if v := resp.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(r.Now()), 0), true
		}
	}
	remaining := resp.Header.Get("X-RateLimit-Remaining")
	reset := resp.Header.Get("X-RateLimit-Reset")
	if remaining == "" {
		remaining, reset = resp.Header.Get("RateLimit-Remaining"), resp.Header.Get("RateLimit-Reset")
	}
	if remaining == "0" && reset != "" {
		if epoch, err := strconv.ParseInt(reset, 10, 64); err == nil {
			return max(time.Unix(epoch, 0).Sub(r.Now()), 0) + time.Second, true
		}
	}
	return 0, false
}
