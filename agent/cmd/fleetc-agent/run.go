package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/fleetc/fleetc/agent/internal/collect"
	"github.com/fleetc/fleetc/agent/internal/deliver"
	"github.com/fleetc/fleetc/agent/internal/hold"
	"github.com/fleetc/fleetc/agent/internal/identity"
	"github.com/fleetc/fleetc/agent/internal/kube"
	"github.com/fleetc/fleetc/agent/internal/probe"
	"github.com/fleetc/fleetc/agent/internal/spool"
	"github.com/fleetc/fleetc/agent/report"
)

// kubeTimeout bounds every request to the API server.
const kubeTimeout = 15 * time.Second

// storeID is report.Validate's rule for store ids.
var storeID = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

type runFlags struct {
	store, collector, kubeconfig, namespace, stateDir, collectorCA string
	keySecret                                                      string
	logFormat, logLevel                                            string
	interval, timeout, probeTimeout                                time.Duration
	jitter                                                         float64
	spoolMaxBytes                                                  sizeFlag
	spoolMaxCount                                                  int
	once, enforceWindow                                            bool
}

func parseRun(args []string, stdout, stderr io.Writer) (*runFlags, error) {
	f := &runFlags{spoolMaxBytes: 16 << 20}
	fs := newFlags("run", stdout, stderr)
	fs.StringVar(&f.store, "store", "", "the store's id in the inventory (else $FLEETC_STORE_ID); required")
	fs.StringVar(&f.collector, "collector", "", "the collector's base URL; reports go to URL/v1/reports (else $FLEETC_COLLECTOR_URL); required")
	fs.StringVar(&f.collectorCA, "collector-ca", "", "PEM file of the CA that signed the collector's certificate (default: the system roots)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (else $KUBECONFIG, else the pod's service account)")
	fs.StringVar(&f.namespace, "namespace", "flux-system", "namespace of the Flux Kustomizations and HelmReleases fleetc renders")
	fs.DurationVar(&f.interval, "interval", 60*time.Second, "how often to read the cluster and report")
	fs.Float64Var(&f.jitter, "jitter", 0.1, "each interval is randomly up to this fraction longer or shorter, so stores do not report in step")
	fs.StringVar(&f.keySecret, "key-secret", "", "keep the key in this Secret (NAMESPACE/NAME, data key key.pem), made at first start, instead of the state directory's key file")
	fs.StringVar(&f.stateDir, "state-dir", defaultStateDir, "directory holding the key, seq and spool/; keep it across restarts (hostPath or PVC)")
	fs.Var(&f.spoolMaxBytes, "spool-max-bytes", "most `bytes` of reports waiting for delivery (16777216, 16MiB); when full the oldest are dropped")
	fs.IntVar(&f.spoolMaxCount, "spool-max-count", 10080, "most reports waiting for delivery (10080: a week at 60s)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one POST to the collector")
	fs.DurationVar(&f.probeTimeout, "probe-timeout", 5*time.Second, "timeout of one app health probe (health: http: in the fleet); no answer in time is unhealthy")
	fs.BoolVar(&f.enforceWindow, "enforce-window", true, "open the store's window gate (Kustomization fleetc-window) inside its window and suspend it outside, when the fleet sets settings.agent.enforceWindows; false leaves the gate alone")
	fs.BoolVar(&f.once, "once", false, "read once, spool the report, try every spooled report once; exit 0 when the report was made and all were delivered, else 1")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format on stderr: json or text")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.store == "" {
		f.store = os.Getenv("FLEETC_STORE_ID")
	}
	if f.collector == "" {
		f.collector = os.Getenv("FLEETC_COLLECTOR_URL")
	}
	switch {
	case f.store == "":
		return nil, usagef("--store (or $FLEETC_STORE_ID) is required")
	case !storeID.MatchString(f.store):
		return nil, usagef("--store %q is not a store id (lowercase letters, digits and '-', at most 63)", f.store)
	case f.collector == "":
		return nil, usagef("--collector (or $FLEETC_COLLECTOR_URL) is required")
	case f.interval < time.Second:
		return nil, usagef("--interval %v: want at least 1s", f.interval)
	case f.jitter < 0 || f.jitter >= 1:
		return nil, usagef("--jitter %v: want a fraction in [0, 1)", f.jitter)
	case int64(f.spoolMaxBytes) < report.MaxBytes:
		return nil, usagef("--spool-max-bytes %v: want at least %d, the largest report", &f.spoolMaxBytes, report.MaxBytes)
	case f.spoolMaxCount < 1:
		return nil, usagef("--spool-max-count %d: want at least 1", f.spoolMaxCount)
	case f.probeTimeout <= 0:
		return nil, usagef("--probe-timeout %v: want a positive duration", f.probeTimeout)
	case f.timeout <= 0:
		return nil, usagef("--timeout %v: want a positive duration", f.timeout)
	case f.logFormat != "json" && f.logFormat != "text":
		return nil, usagef("--log-format %q: want json or text", f.logFormat)
	}
	if f.keySecret != "" {
		if _, _, err := identity.ParseSecretRef(f.keySecret); err != nil {
			return nil, usagef("--key-secret %v", err)
		}
	}
	if u, err := url.Parse(f.collector); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usagef("--collector %q: want an http(s)://host[:port][/path] URL", f.collector)
	}
	return f, nil
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// agent is a running fleetc-agent.
type agent struct {
	store, namespace string
	interval         time.Duration
	jitter           float64
	enforceWindow    bool
	prober           *probe.Prober
	kube             *kube.Client
	key              ed25519.PrivateKey
	spool            *spool.Spool
	sender           *deliver.Sender
	log              *slog.Logger
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseRun(args, stdout, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(f.logFormat, f.logLevel, stderr)
	if err != nil {
		return err
	}
	log = log.With("store", f.store)
	a, err := setup(f, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return errReported
	}
	if f.once {
		return a.once(ctx)
	}
	return a.loop(ctx)
}

func setup(f *runFlags, log *slog.Logger) (*agent, error) {
	cfg, err := kube.Load(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	kc := kube.New(cfg, kubeTimeout)
	key, created, where, err := loadKey(kc, f.keySecret, f.stateDir)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new key: the collector refuses this store's reports until its public key is in the inventory (stores.<id>.agent.publicKey)",
			"key", where, "publicKey", report.FormatPublicKey(key.Public().(ed25519.PublicKey)))
	}
	// A new (or wiped) state directory starts its seq at the time, above
	// whatever an earlier one of this store reached: the collector refuses
	// a seq not above the store's last.
	sp, err := spool.Open(f.stateDir, spool.Options{MaxBytes: int64(f.spoolMaxBytes), MaxCount: f.spoolMaxCount, Log: log,
		SeqStart: uint64(time.Now().UnixMicro())})
	if err != nil {
		return nil, err
	}
	hc, err := deliver.NewHTTPClient(f.timeout, f.collectorCA)
	if err != nil {
		return nil, err
	}
	log.Info("fleetc-agent starting", "version", version(), "kube", cfg.Source, "server", cfg.Server, "namespace", f.namespace,
		"collector", f.collector, "stateDir", f.stateDir, "interval", f.interval.String(), "spooled", sp.Len(), "spooledBytes", sp.Bytes())
	return &agent{
		store: f.store, namespace: f.namespace, interval: f.interval, jitter: f.jitter, enforceWindow: f.enforceWindow,
		prober: probe.New(f.probeTimeout),
		kube:   kc, key: key, spool: sp, log: log,
		sender: &deliver.Sender{URL: f.collector, Store: f.store, HTTP: hc, Log: log},
	}, nil
}

// window opens or closes the store's window gate for now and returns when
// the decision next changes by the clock (zero: not known).
func (a *agent) window(ctx context.Context, now time.Time) time.Time {
	if !a.enforceWindow {
		return time.Time{}
	}
	res, err := hold.Sync(ctx, a.kube, a.namespace, now)
	switch {
	case err != nil && !res.Enforced:
		a.log.Error("window gate not synced; it stays as it was", "err", err)
	case err != nil:
		a.log.Error("window gate", "open", res.Open, "changed", res.Changed, "why", res.Why, "err", err)
	case res.Changed:
		a.log.Info(map[bool]string{true: "window gate opened", false: "window gate closed"}[res.Open],
			"why", res.Why, "released", res.Released, "rideAlong", res.RideAlong)
	default:
		a.log.Debug("window gate unchanged", "enforced", res.Enforced, "open", res.Open, "why", res.Why)
	}
	if len(res.RideAlong) > 0 {
		a.log.Warn("window-gated changes go through with a change let through outside the window (the gate is per store)",
			"rideAlong", res.RideAlong, "released", res.Released)
	}
	return res.Next
}

// report reads the cluster and spools a signed report.
func (a *agent) report(ctx context.Context) error {
	r, err := collect.ReadProbed(ctx, a.kube, a.prober, a.namespace, time.Now(), a.log)
	if err != nil {
		return err
	}
	seq, err := a.spool.NextSeq()
	if err != nil {
		return err
	}
	r.Store, r.Seq, r.Agent = a.store, seq, "fleetc-agent/"+version()
	if err := r.Validate(); err != nil {
		return fmt.Errorf("report %d is invalid: %w", seq, err)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if len(body) > report.MaxBytes {
		return fmt.Errorf("report %d is %d bytes, more than the collector takes (%d)", seq, len(body), report.MaxBytes)
	}
	if err := a.spool.Put(spool.Report{Seq: seq, Signature: report.Sign(a.key, body), Body: body}); err != nil {
		return err
	}
	a.log.Info("report spooled", "seq", seq, "apps", len(r.Apps), "nodes", r.Nodes.Total, "nodesReady", r.Nodes.Ready,
		"bytes", len(body), "spooled", a.spool.Len())
	return nil
}

// once makes one report and tries every spooled report once. It fails
// when no report could be made (the spooled ones are still tried) or when
// reports are left spooled.
func (a *agent) once(ctx context.Context) error {
	failed := false
	a.window(ctx, time.Now())
	if err := a.report(ctx); err != nil {
		a.log.Error("no report made", "err", err)
		failed = true
	}
	if _, _, err := a.sender.Drain(ctx, a.spool); err != nil {
		a.log.Error("delivery failed", "err", err)
		return errReported
	}
	if n := a.spool.Len(); n > 0 {
		a.log.Error("reports still spooled", "spooled", n)
		failed = true
	}
	if failed {
		return errReported
	}
	return nil
}

// loop reports every interval and delivers, backing off while the
// collector does not take reports, until ctx is done.
func (a *agent) loop(ctx context.Context) error {
	backoff := deliver.Backoff{Base: 5 * time.Second, Max: 5 * time.Minute}
	var nextRead, nextSend time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if now := time.Now(); !now.Before(nextRead) {
			edge := a.window(ctx, now)
			if err := a.report(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("no report this interval", "err", err)
			}
			d := float64(a.interval) * (1 + a.jitter*(2*rand.Float64()-1))
			nextRead = now.Add(time.Duration(d))
			// a window edge before the next read is met to the second
			if edge.After(now) && edge.Before(nextRead) {
				nextRead = edge.Add(time.Second)
			}
		}
		if a.spool.Len() > 0 && !time.Now().Before(nextSend) {
			_, stop, err := a.sender.Drain(ctx, a.spool)
			if err != nil {
				a.log.Error("delivery failed", "err", err)
				return errReported
			}
			if stop != nil {
				wait := backoff.Next(stop.RetryAfter)
				nextSend = time.Now().Add(wait)
				a.log.Info("delivery paused", "wait", wait.Round(time.Millisecond).String(), "spooled", a.spool.Len())
			} else {
				backoff.Reset()
			}
		}
		wake := nextRead
		if a.spool.Len() > 0 && nextSend.Before(wake) {
			wake = nextSend
		}
		timer.Reset(time.Until(wake))
		select {
		case <-ctx.Done():
			a.log.Info("stopping", "spooled", a.spool.Len())
			return nil
		case <-timer.C:
		}
	}
}

// loadKey reads (or first makes) the agent's key: in the Secret ref
// (NAMESPACE/NAME) when set, else in the state directory's key file. where
// names it for the log.
func loadKey(kc *kube.Client, ref, stateDir string) (key ed25519.PrivateKey, created bool, where string, err error) {
	if ref == "" {
		key, created, err = identity.LoadOrCreate(keyPath(stateDir))
		return key, created, keyPath(stateDir), err
	}
	ns, name, err := identity.ParseSecretRef(ref)
	if err != nil {
		return nil, false, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*kubeTimeout)
	defer cancel()
	key, created, err = identity.LoadOrCreateSecret(ctx, kc, ns, name)
	return key, created, "Secret " + ref, err
}
