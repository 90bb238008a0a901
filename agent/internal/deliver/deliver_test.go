package deliver

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/internal/spool"
	"github.com/fleetc/fleetc/agent/report"
)

// collector verifies every report as the real one does (a signature that
// does not verify is a 403) and answers from a script: per seq, the
// statuses of its successive attempts.
type collector struct {
	t      *testing.T
	pub    ed25519.PublicKey
	mu     sync.Mutex
	script map[uint64][]int
	got    []string // "seq:status" per request
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := io.ReadAll(io.LimitReader(r.Body, report.MaxBytes))
	if r.Method != http.MethodPost || r.URL.Path != "/base/v1/reports" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get(report.HeaderStore) != "store-1" {
		c.t.Errorf("unexpected request %s %s %v", r.Method, r.URL.Path, r.Header)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err := report.Verify(c.pub, b, r.Header.Get(report.HeaderSignature)); err != nil {
		c.got = append(c.got, "bad signature")
		w.WriteHeader(http.StatusForbidden)
		return
	}
	rep, err := report.Decode(b)
	if err != nil {
		c.t.Errorf("body: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if s := c.script[rep.Seq]; len(s) > 0 {
		status, c.script[rep.Seq] = s[0], s[1:]
	}
	c.got = append(c.got, fmt.Sprintf("%d:%d", rep.Seq, status))
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "7")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "answer %d", status)
}

func spoolOf(t *testing.T, priv ed25519.PrivateKey, n int) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 1 << 20, MaxCount: 100})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		seq, err := sp.NextSeq()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(report.Report{Schema: report.Schema, Store: "store-1", Seq: seq, At: time.Now().UTC(), Apps: map[string]report.App{}})
		if err := sp.Put(spool.Report{Seq: seq, Signature: report.Sign(priv, body), Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	return sp
}

func TestDrain(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	c := &collector{t: t, pub: pub, script: map[uint64][]int{2: {409}, 3: {400}, 4: {429, 503}, 5: {413}}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	hc, err := NewHTTPClient(5*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{URL: srv.URL + "/base/", Store: "store-1", HTTP: hc, Log: slog.New(slog.DiscardHandler)}
	sp := spoolOf(t, priv, 6)
	ctx := context.Background()

	// 1 delivered, 2 duplicate, 3 refused: all leave; 4 is throttled.
	removed, stop, err := s.Drain(ctx, sp)
	if err != nil || removed != 3 || stop == nil || stop.Status != 429 || stop.RetryAfter != 7*time.Second {
		t.Fatalf("first drain: removed %d, stop %+v, err %v; want 3 removed, stopped by 429 with Retry-After 7s", removed, stop, err)
	}
	if sp.Len() != 3 {
		t.Errorf("after the first drain %d spooled, want 3 (4, 5, 6)", sp.Len())
	}
	// 503: kept.
	removed, stop, _ = s.Drain(ctx, sp)
	if removed != 0 || stop == nil || stop.Status != 503 || sp.Len() != 3 {
		t.Fatalf("second drain: removed %d stop %+v, spooled %d; want 503 and all kept", removed, stop, sp.Len())
	}
	// 4 delivered, 5 too large (refused), 6 delivered.
	removed, stop, _ = s.Drain(ctx, sp)
	if removed != 3 || stop != nil || sp.Len() != 0 {
		t.Fatalf("third drain: removed %d stop %+v spooled %d; want all 3 gone", removed, stop, sp.Len())
	}
	want := []string{"1:200", "2:409", "3:400", "4:429", "4:503", "4:200", "5:413", "6:200"}
	if !slices.Equal(c.got, want) {
		t.Errorf("collector saw %v, want %v", c.got, want)
	}
	// Nothing left to send: a fourth drain sends nothing.
	if removed, stop, _ := s.Drain(ctx, sp); removed != 0 || stop != nil || len(c.got) != len(want) {
		t.Errorf("empty drain sent something: removed %d stop %+v, requests %d", removed, stop, len(c.got))
	}
}

func TestKeepOnAuthNetworkAndRedirect(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	hc, _ := NewHTTPClient(2*time.Second, "")
	log := slog.New(slog.DiscardHandler)

	// The key is not the inventory's: 403, kept.
	c := &collector{t: t, pub: otherPub}
	srv := httptest.NewServer(c)
	sp := spoolOf(t, priv, 2)
	s := &Sender{URL: srv.URL + "/base", Store: "store-1", HTTP: hc, Log: log}
	if _, stop, _ := s.Drain(context.Background(), sp); stop == nil || stop.Status != 403 || sp.Len() != 2 || !slices.Equal(c.got, []string{"bad signature"}) {
		t.Errorf("403: stop %+v, spooled %d, collector saw %v; want one attempt, kept", stop, sp.Len(), c.got)
	}
	srv.Close()

	// The collector is down: kept.
	if _, stop, _ := s.Drain(context.Background(), sp); stop == nil || stop.Status != 0 || stop.Err == nil || sp.Len() != 2 {
		t.Errorf("network error: stop %+v, spooled %d; want kept with the error", stop, sp.Len())
	}

	// A redirect is not followed.
	hits := 0
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "https://elsewhere.example/v1/reports", http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	s.URL = redir.URL
	_, stop, _ := s.Drain(context.Background(), sp)
	if stop == nil || stop.Status != 307 || hits != 1 || !strings.Contains(stop.Err.Error(), "not followed") || sp.Len() != 2 {
		t.Errorf("redirect: stop %+v, hits %d, spooled %d; want 307 kept, not followed", stop, hits, sp.Len())
	}
}

func TestBackoff(t *testing.T) {
	b := &Backoff{Base: time.Second, Max: 8 * time.Second}
	for n, ceil := range []time.Duration{1, 2, 4, 8, 8, 8} {
		ceil *= time.Second
		for range 50 {
			b.n = n
			if d := b.Next(0); d < 0 || d >= ceil {
				t.Fatalf("attempt %d: wait %v, want in [0, %v)", n, d, ceil)
			}
		}
	}
	b.Reset()
	if d := b.Next(30 * time.Second); d != 30*time.Second {
		t.Errorf("Retry-After 30s: wait %v, want 30s", d)
	}
	if d := b.Next(48 * time.Hour); d != time.Hour {
		t.Errorf("Retry-After 48h: wait %v, want the 1h cap", d)
	}
	b.n = 1000 // no overflow after very many failures
	if d := b.Next(0); d < 0 || d >= 8*time.Second {
		t.Errorf("after 1000 failures: wait %v", d)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-1":                            0,
		"soon":                          0,
		"Tue, 24 Nov 2026 09:01:30 GMT": 90 * time.Second,
		"Tue, 24 Nov 2026 08:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
