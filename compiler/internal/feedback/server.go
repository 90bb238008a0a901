package feedback

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fleetc/fleetc/agent/report"
)

// ServerOptions configure a Server.
type ServerOptions struct {
	MaxBytes int64         // largest report body; 0 means report.MaxBytes
	MaxAge   time.Duration // older reports are stale (409); 0 means 7 days
	MaxSkew  time.Duration // reports further in the future are refused (409); 0 means 5 minutes
	// Rate and Burst limit each store's reports (a token bucket per store
	// and process). 0 means 1 report per 5 s with a burst of 120, enough
	// for an agent that catches up on a spool after an outage.
	Rate  float64
	Burst int
	Log   *slog.Logger
	Now   func() time.Time // tests pin the clock
	// ReadToken, when set, is the bearer token GET /v1/status and
	// /v1/snapshot require (401 without it, 403 with another): what every
	// store runs is the operators' business. /healthz and /metrics stay
	// open for probes and scrapers; POST /v1/reports is signed per store.
	ReadToken string
}

// Server is the collector's HTTP side.
type Server struct {
	db    *DB
	opts  ServerOptions
	fleet atomic.Pointer[Fleet]
	log   *slog.Logger

	mu      sync.Mutex
	buckets map[string]*bucket

	reg      *prometheus.Registry
	reports  *prometheus.CounterVec
	latency  prometheus.Histogram
	reloads  *prometheus.CounterVec
	storesOK prometheus.Gauge
}

// NewServer serves db for fleet.
func NewServer(db *DB, fleet *Fleet, opts ServerOptions) *Server {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = report.MaxBytes
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = 5 * time.Minute
	}
	if opts.Rate <= 0 {
		opts.Rate, opts.Burst = 0.2, 120
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{db: db, opts: opts, log: opts.Log, buckets: map[string]*bucket{}, reg: prometheus.NewRegistry()}
	s.reports = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleetc_collector_reports_total",
		Help: "Reports received, by HTTP status answered and reason."}, []string{"code", "reason"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fleetc_collector_report_duration_seconds",
		Help: "Time from receiving a report to answering it, commit included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	s.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleetc_collector_fleet_reloads_total",
		Help: "Fleet reloads (public keys and rings), by result."}, []string{"result"})
	s.storesOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "fleetc_collector_stores_with_key",
		Help: "Stores of the loaded fleet that declare an agent public key."})
	s.reg.MustRegister(s.reports, s.latency, s.reloads, s.storesOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.SetFleet(fleet)
	return s
}

// SetFleet swaps the keys and rings in use (after a reload).
func (s *Server) SetFleet(f *Fleet) {
	s.fleet.Store(f)
	s.storesOK.Set(float64(len(f.Keys)))
}

// Reloaded counts a reload attempt for /metrics.
func (s *Server) Reloaded(err error) {
	if err != nil {
		s.reloads.WithLabelValues("error").Inc()
		return
	}
	s.reloads.WithLabelValues("ok").Inc()
}

// Handler routes the collector's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", s.postReport)
	mux.HandleFunc("GET /v1/snapshot", s.reader(s.getSnapshot))
	mux.HandleFunc("GET /v1/status", s.reader(s.getStatus))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// rejection is an answer other than 200, with a reason code for metrics
// and logs and a message for the agent's log.
type rejection struct {
	status int
	reason string
	msg    string
	retry  time.Duration
}

func (s *Server) postReport(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	seq, rej := s.accept(r)
	s.latency.Observe(time.Since(start).Seconds())
	store := r.Header.Get(report.HeaderStore)
	if rej != nil {
		s.reports.WithLabelValues(strconv.Itoa(rej.status), rej.reason).Inc()
		level := slog.LevelWarn
		if rej.status >= 500 {
			level = slog.LevelError
		}
		// Never the signature, the key or the body: the store, the reason.
		s.log.Log(r.Context(), level, "report rejected", "store", store, "status", rej.status, "reason", rej.reason, "error", rej.msg, "remote", r.RemoteAddr)
		if rej.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rej.retry.Seconds()))))
		}
		writeJSON(w, rej.status, map[string]string{"error": rej.msg, "reason": rej.reason})
		return
	}
	s.reports.WithLabelValues("200", "accepted").Inc()
	s.log.Debug("report accepted", "store", store, "seq", seq)
	writeJSON(w, http.StatusOK, map[string]any{"accepted": true, "store": store, "seq": seq})
}

func (s *Server) accept(r *http.Request) (uint64, *rejection) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.opts.MaxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return 0, &rejection{http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the report is over %d bytes", s.opts.MaxBytes), 0}
		}
		return 0, &rejection{http.StatusBadRequest, "read", err.Error(), 0}
	}
	sig, store := r.Header.Get(report.HeaderSignature), r.Header.Get(report.HeaderStore)
	if sig == "" || store == "" {
		return 0, &rejection{http.StatusUnauthorized, "unsigned", fmt.Sprintf("a report needs the %s and %s headers (docs/feedback.md)", report.HeaderStore, report.HeaderSignature), 0}
	}
	fleet := s.fleet.Load()
	key, ok := fleet.Keys[store]
	if !ok {
		msg := fmt.Sprintf("store %q is not in the fleet", store)
		if fleet.Stores[store] {
			msg = fmt.Sprintf("store %q declares no agent.publicKey in the inventory (fleetc-agent pubkey prints it; add it by pull request)", store)
		}
		return 0, &rejection{http.StatusForbidden, "unknown-key", msg, 0}
	}
	// sig is not empty (checked above), so any error is a bad signature.
	if err := report.Verify(key, body, sig); err != nil {
		return 0, &rejection{http.StatusForbidden, "bad-signature", err.Error(), 0}
	}
	rep, err := report.Decode(body)
	if err != nil {
		return 0, &rejection{http.StatusBadRequest, "malformed", err.Error(), 0}
	}
	if rep.Store != store {
		return 0, &rejection{http.StatusForbidden, "cross-store", fmt.Sprintf("the report is about store %q but signed by store %q's key", rep.Store, store), 0}
	}
	if wait := s.take(store); wait > 0 {
		return 0, &rejection{http.StatusTooManyRequests, "rate", fmt.Sprintf("store %q sends faster than %.2g reports/s", store, s.opts.Rate), wait}
	}
	now := s.opts.Now()
	if age := now.Sub(rep.At); age > s.opts.MaxAge {
		return 0, &rejection{http.StatusConflict, "stale", fmt.Sprintf("the report is from %s, older than %s", rep.At.UTC().Format(time.RFC3339), s.opts.MaxAge), 0}
	} else if -age > s.opts.MaxSkew {
		return 0, &rejection{http.StatusConflict, "future", fmt.Sprintf("the report is from %s, %s ahead of the collector's clock (more than %s: check the store's clock)", rep.At.UTC().Format(time.RFC3339), (-age).Round(time.Second), s.opts.MaxSkew), 0}
	}
	switch err := s.db.Accept(r.Context(), rep, fleet.KeyText[store], body); {
	case errors.Is(err, ErrReplay):
		return 0, &rejection{http.StatusConflict, "replay", err.Error(), 0}
	case err != nil:
		return 0, &rejection{http.StatusServiceUnavailable, "database", "the report was not stored: " + err.Error(), 5 * time.Second}
	}
	return rep.Seq, nil
}

// bucket is one store's token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// take spends a token of store's bucket, or says how long until one.
func (s *Server) take(store string) time.Duration {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[store]
	if b == nil {
		b = &bucket{tokens: float64(s.opts.Burst), at: now}
		s.buckets[store] = b
	}
	b.tokens = min(float64(s.opts.Burst), b.tokens+now.Sub(b.at).Seconds()*s.opts.Rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / s.opts.Rate * float64(time.Second))
}

// reader guards a read endpoint with ReadToken.
func (s *Server) reader(h http.HandlerFunc) http.HandlerFunc {
	if s.opts.ReadToken == "" {
		return h
	}
	want := []byte(s.opts.ReadToken)
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok || got == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="fleetc-feedback"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "this collector's read endpoints need Authorization: Bearer <token> (fleetc feedback export --token-file)"})
		case subtle.ConstantTimeCompare([]byte(got), want) != 1:
			s.log.Warn("read refused: wrong token", "path", r.URL.Path, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "wrong token"})
		default:
			h(w, r)
		}
	}
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	latest, err := s.db.Latest(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Snapshot(latest, s.opts.Now()))
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	latest, err := s.db.Latest(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	now := s.opts.Now()
	writeJSON(w, http.StatusOK, BuildStatus(Snapshot(latest, now), s.fleet.Load(), now))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "db": s.db.Kind(), "fleet": s.fleet.Load().Digest})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
