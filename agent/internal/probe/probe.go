// Package probe runs the apps' HTTP health probes (health: http: in the
// fleet's CUE; fleetc renders the URL as the app Kustomization's
// fleetc.dev/health annotation) from inside the store: Ready then means
// the app answers, not only that Flux applied it.
package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fleetc/fleetc/agent/report"
)

// maxMessage bounds a result's message; an app's error page is not a
// report's business.
const maxMessage = 256

// parallel bounds the probes in flight: a store runs tens of apps.
const parallel = 4

// Prober GETs each URL once with Timeout. A 2xx or 3xx answer is healthy
// (redirects are not followed); anything else, or no answer, is not.
type Prober struct {
	HTTP    *http.Client
	Timeout time.Duration
	Now     func() time.Time
}

// New makes a Prober with its own client (no proxy: the URLs are
// in-cluster service names).
func New(timeout time.Duration) *Prober {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	return &Prober{
		HTTP:    &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Timeout: timeout, Now: time.Now,
	}
}

// One probes url.
func (p *Prober) One(ctx context.Context, url string) report.Health {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	h := report.Health{}
	start := p.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		h.At, h.Message = start.UTC().Truncate(time.Second), clip(fmt.Sprintf("GET %s: %v", url, err))
		return h
	}
	req.Header.Set("User-Agent", "fleetc-agent (health probe)")
	resp, err := p.HTTP.Do(req)
	h.At = start.UTC().Truncate(time.Second)
	if err != nil {
		h.Message = clip(fmt.Sprintf("GET %s: %v", url, err))
		return h
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	h.Status = resp.StatusCode
	h.OK = resp.StatusCode >= 200 && resp.StatusCode < 400
	h.Message = fmt.Sprintf("GET %s: %d %s in %s", url, resp.StatusCode, http.StatusText(resp.StatusCode), p.Now().Sub(start).Round(time.Millisecond))
	return h
}

// All probes every app's URL, at most parallel at a time, and returns the
// results by app.
func (p *Prober) All(ctx context.Context, urls map[string]string) map[string]report.Health {
	out := make(map[string]report.Health, len(urls))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for app, url := range urls {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			h := p.One(ctx, url)
			mu.Lock()
			out[app] = h
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage-3] + "..."
}
