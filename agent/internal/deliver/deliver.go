// Package deliver sends spooled reports to the feedback collector, oldest
// first, and decides by the answer whether a report leaves the spool:
//
//	200            delivered: removed
//	409            the collector has it already, or it is older than what
//	               it accepted: removed (info)
//	400, 413       can never be accepted: removed (error)
//	401, 403       the store's key is not (yet) in the inventory, or does
//	               not match: kept, retried with backoff
//	429            kept, retried after Retry-After (at least)
//	5xx, 3xx, any  kept, retried with backoff
//	other status,
//	network error
//
// Redirects are not followed: a signed report goes only where the agent
// was told to send it.
package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fleetc/fleetc/agent/internal/spool"
	"github.com/fleetc/fleetc/agent/report"
)

// Path is where the collector takes reports.
const Path = "/v1/reports"

// NewHTTPClient makes the collector client: timeout per request, caFile
// (when set) the only CA trusted for the collector's certificate.
func NewHTTPClient(timeout time.Duration, caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1, 1
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("collector CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("collector CA %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// Sender posts reports for one store.
type Sender struct {
	URL   string // the collector's base URL; reports go to URL + Path
	Store string
	HTTP  *http.Client
	Log   *slog.Logger
}

// Verdict is what an answer means for the spooled report.
type Verdict int

const (
	Delivered Verdict = iota // 200
	Duplicate                // 409: already there or too old
	Refused                  // 400, 413: never acceptable
	Retry                    // keep it and try again later
)

// Outcome is one attempt's result.
type Outcome struct {
	Verdict    Verdict
	Status     int           // 0 when no answer came
	RetryAfter time.Duration // from a Retry-After header
	Err        error         // the network error, or what the collector said
}

// Send posts one report.
func (s *Sender) Send(ctx context.Context, sig string, body []byte) Outcome {
	url := strings.TrimSuffix(s.URL, "/") + Path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Outcome{Verdict: Retry, Err: fmt.Errorf("POST %s: %w", url, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fleetc-agent")
	req.Header.Set(report.HeaderStore, s.Store)
	req.Header.Set(report.HeaderSignature, sig)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return Outcome{Verdict: Retry, Err: err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	o := Outcome{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		text := strings.TrimSpace(string(msg))
		if loc := resp.Header.Get("Location"); loc != "" {
			text += " (redirect to " + loc + " not followed)"
		}
		o.Err = fmt.Errorf("POST %s: %s: %s", url, resp.Status, text)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		o.Verdict = Delivered
	case http.StatusConflict:
		o.Verdict = Duplicate
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		o.Verdict = Refused
	default:
		o.Verdict = Retry
		o.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return o
}

// retryAfter reads a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Drain sends the spooled reports, oldest first, until the spool is empty
// or one must wait; it returns how many left the spool and, when one must
// wait, the outcome that stopped it. An error is the spool's.
func (s *Sender) Drain(ctx context.Context, sp *spool.Spool) (removed int, stopped *Outcome, err error) {
	for ctx.Err() == nil {
		r, ok, err := sp.Oldest()
		if err != nil || !ok {
			return removed, nil, err
		}
		o := s.Send(ctx, r.Signature, r.Body)
		log := s.Log.With("seq", r.Seq, "status", o.Status, "spooled", sp.Len())
		switch o.Verdict {
		case Delivered:
			log.Debug("report delivered")
		case Duplicate:
			log.Info("collector has this report already or a newer one; dropped", "answer", o.Err)
		case Refused:
			log.Error("collector can never accept this report; dropped", "answer", o.Err)
		case Retry:
			if ctx.Err() == nil {
				log.Warn("report not delivered; will retry", "err", o.Err, "retryAfter", o.RetryAfter)
			}
			return removed, &o, nil
		}
		if err := sp.Remove(r.Seq); err != nil {
			return removed, nil, err
		}
		removed++
	}
	return removed, nil, nil
}

// Backoff is exponential backoff with full jitter: the nth wait in a row
// is uniform in [0, min(Max, Base·2ⁿ)), and never less than a Retry-After.
type Backoff struct {
	Base, Max time.Duration
	n         int
}

// maxRetryAfter caps a collector's Retry-After.
const maxRetryAfter = time.Hour

// Next is the wait before the next attempt.
func (b *Backoff) Next(retryAfter time.Duration) time.Duration {
	ceil := b.Max
	if b.n < 62 && b.Base<<b.n < b.Max && b.Base<<b.n > 0 {
		ceil = b.Base << b.n
	}
	b.n++
	d := time.Duration(rand.Int64N(int64(ceil)))
	return max(d, min(retryAfter, maxRetryAfter))
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.n = 0 }
