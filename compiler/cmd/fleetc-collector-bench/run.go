package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/fleetc/fleetc/compiler/internal/feedback"
	"github.com/fleetc/fleetc/compiler/internal/testenv/pgtest"
)

// outcome is one database's run: the load measured and the check after.
type outcome struct {
	db      string
	run     int
	res     *loadResult
	startup time.Duration // first start (cold loader cache) → /healthz 200
	lost    int           // acknowledged reports whose store's last_seq is below them
	// histMissing is acknowledged seqs missing from fleetc_reports, -1 when
	// not checked (heartbeats in the mix, or more reports than --history).
	histMissing int
	storedRows  int // rows of fleetc_stores
	pgCPU       time.Duration
}

func run(ctx context.Context, o options, args []string) (int, error) {
	work := o.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "fleetc-collector-bench-"); err != nil {
			return 0, err
		}
	}
	if !o.keep && o.work == "" {
		defer os.RemoveAll(work)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 0, err
	}
	fleetc := o.fleetc
	if fleetc == "" {
		fleetc = filepath.Join(work, "fleetc")
		logf("building fleetc into %s", fleetc)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", fleetc, "./compiler/cmd/fleetc").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("build fleetc: %v\n%s", err, out)
		}
	} else if abs, err := filepath.Abs(fleetc); err == nil {
		fleetc = abs
	}
	root := filepath.Join(work, "fleet")
	t0 := time.Now()
	keys, err := writeFleet(root, o.stores)
	if err != nil {
		return 0, err
	}
	logf("wrote a fleet of %d stores in %d files to %s (%s)", o.stores, (o.stores+storesPerFile-1)/storesPerFile, root, time.Since(t0).Round(time.Millisecond))

	var pg *pgtest.Postgres
	if slices.Contains(o.dbs, "postgres") {
		logf("starting PostgreSQL")
		if pg, err = pgtest.Start(); err != nil {
			return 0, err
		}
		defer pg.Stop()
	}
	date := time.Now().UTC()
	load, _ := os.ReadFile("/proc/loadavg")
	var outs []outcome
	for r := 1; r <= o.runs; r++ {
		for _, db := range o.dbs {
			oc, err := runOne(ctx, o, fleetc, root, work, keys, pg, db, r)
			if err != nil {
				return 0, fmt.Errorf("%s, run %d: %w", db, r, err)
			}
			outs = append(outs, *oc)
			logf("%s run %d: %d acknowledged, %.0f/s, p99 %s, lost %d", db, r, oc.res.acked, rate(oc.res.ackedInWindow, oc.res.wall), ms(percentile(oc.res.latency, 0.99)), oc.lost)
		}
	}
	text := renderReport(o, args, outs, date, strings.Fields(string(load)))
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return 0, err
		}
	}
	lost := 0
	for _, oc := range outs {
		lost += oc.lost + max(oc.histMissing, 0)
	}
	return lost, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s fleetc-collector-bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// runOne measures one database once: a fresh database and loader cache,
// the collector started, the load, the collector stopped, the check.
func runOne(ctx context.Context, o options, fleetc, root, work string, keys []ed25519.PrivateKey, pg *pgtest.Postgres, db string, r int) (*outcome, error) {
	dir := filepath.Join(work, fmt.Sprintf("run%d-%s", r, db))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var dsn string
	switch db {
	case "sqlite":
		dsn = "sqlite:" + filepath.Join(dir, "feedback.db")
	case "postgres":
		var err error
		if dsn, err = pg.NewDatabase("bench"); err != nil {
			return nil, err
		}
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	args := collectorArgs{fleetc: fleetc, root: root, cacheDir: filepath.Join(dir, "cache"), dsn: dsn, listen: listen,
		rate: o.rate, burst: o.burst, history: o.history, log: filepath.Join(dir, "collector.log")}
	profile := ""
	if o.cpuProfile != "" {
		profile, _ = filepath.Abs(fmt.Sprintf("%s-%s-run%d.pprof", o.cpuProfile, db, r))
	}
	first := args
	if !o.kill {
		first.cpuProfile = profile
	}
	logf("%s run %d: starting the collector on %s (%s)", db, r, listen, feedback.RedactDSN(dsn))
	c, err := startCollector(ctx, first)
	if err != nil {
		return nil, err
	}
	oc := &outcome{db: db, run: r, startup: c.ready, histMissing: -1}
	logf("%s run %d: healthy after %s; %d reports/s for %s", db, r, c.ready.Round(time.Millisecond), int(float64(o.stores)/o.period.Seconds()), o.duration)
	pgPid := 0
	var pg0 time.Duration
	if db == "postgres" {
		pgPid = postmasterPid(pg)
		pg0 = treeCPU(pgPid)
	}
	cfg := loadConfig{keys: keys, period: o.period, duration: o.duration, drain: o.drain, workers: o.workers,
		retries: o.retries, change: o.change, kill: o.kill, seed: o.seed + uint64(r)*7919,
		restart: func(ctx context.Context) (*collector, error) {
			again := args
			again.cpuProfile = profile
			return startCollector(ctx, again)
		}}
	res, err := drive(ctx, c, cfg)
	if pgPid != 0 {
		oc.pgCPU = treeCPU(pgPid) - pg0 // schedule and drain: close enough, the drain is short
	}
	oc.res = res
	last := res.collectors[len(res.collectors)-1]
	if err != nil {
		for _, c := range res.collectors {
			c.kill()
		}
		return nil, err
	}
	if err := last.stop(); err != nil {
		return nil, fmt.Errorf("stopping the collector: %w\n%s", err, tail(last.log))
	}
	if oc.lost, oc.histMissing, oc.storedRows, err = verify(ctx, dsn, res.ackedSeqs, o.change >= 1, o.history); err != nil {
		return nil, fmt.Errorf("check the database: %w", err)
	}
	return oc, nil
}

// postmasterPid reads the server's pid from its data directory.
func postmasterPid(pg *pgtest.Postgres) int {
	b, err := os.ReadFile(filepath.Join(pg.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(line))
	return n
}

// verify checks every acknowledged report is in the database. The primary
// check: each store's last_seq in fleetc_stores is at least the highest
// seq acknowledged to it (the collector keeps only --history changes per
// store, so the latest state is what is certain to stay). With every
// report a change and no store over --history reports, it also checks each
// acknowledged seq is a row of fleetc_reports.
func verify(ctx context.Context, dsn string, acked [][]uint64, everyChange bool, history int) (lost, histMissing, rows int, err error) {
	var d *sql.DB
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		d, err = sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	} else {
		d, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	defer d.Close()
	last := map[string]int64{}
	q, err := d.QueryContext(ctx, `SELECT store, last_seq FROM fleetc_stores`)
	if err != nil {
		return 0, 0, 0, err
	}
	for q.Next() {
		var s string
		var n int64
		if err := q.Scan(&s, &n); err != nil {
			q.Close()
			return 0, 0, 0, err
		}
		last[s] = n
	}
	q.Close()
	if err := q.Err(); err != nil {
		return 0, 0, 0, err
	}
	check := everyChange
	for i, seqs := range acked {
		for _, seq := range seqs {
			if int64(seq) > last[storeID(i+1)] {
				lost++
			}
		}
		check = check && len(seqs) <= history
	}
	if !check {
		return lost, -1, len(last), nil
	}
	have := map[string]bool{}
	q, err = d.QueryContext(ctx, `SELECT store, seq FROM fleetc_reports`)
	if err != nil {
		return 0, 0, 0, err
	}
	defer q.Close()
	for q.Next() {
		var s string
		var n int64
		if err := q.Scan(&s, &n); err != nil {
			return 0, 0, 0, err
		}
		have[s+"/"+strconv.FormatInt(n, 10)] = true
	}
	if err := q.Err(); err != nil {
		return 0, 0, 0, err
	}
	for i, seqs := range acked {
		for _, seq := range seqs {
			if !have[storeID(i+1)+"/"+strconv.FormatUint(seq, 10)] {
				histMissing++
			}
		}
	}
	return lost, histMissing, len(last), nil
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f", float64(d)/1e6)
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f", float64(d)/1e6)
}

func pct(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

func mb(kib int64) float64 { return float64(kib) / 1024 }

// rss is the median of the collector's VmRSS samples and the peak of
// VmHWM over the run (every process).
func rss(s []sample) (steady, peak int64) {
	var v []int64
	for _, x := range s {
		if x.rss > 0 {
			v = append(v, x.rss)
		}
		peak = max(peak, x.hwm)
	}
	if len(v) == 0 {
		return 0, peak
	}
	slices.Sort(v)
	return v[len(v)/2], peak
}

// row is one line of the results table, as numbers (medians over runs).
type row struct {
	target, achieved                      float64
	p50, p90, p99, maxLat                 time.Duration
	cpu, gen, pg                          float64 // % of one core
	steady, peak                          int64   // KiB
	errors, acked, lost, histMiss, failed int
	restart                               time.Duration
}

func rowOf(o options, oc outcome) row {
	r := oc.res
	lat := slices.Clone(r.latency)
	sortDurations(lat)
	errs := 0
	for k, n := range r.statuses {
		if k != "200" {
			errs += n
		}
	}
	steady, peak := rss(r.samples)
	return row{target: float64(o.stores) / o.period.Seconds(), achieved: rate(r.ackedInWindow, r.wall),
		p50: percentile(lat, 0.5), p90: percentile(lat, 0.9), p99: percentile(lat, 0.99), maxLat: percentile(lat, 1),
		cpu: pct(r.collCPU, r.wall), gen: pct(r.genCPU, r.wall), pg: pct(oc.pgCPU, r.wall),
		steady: steady, peak: peak, errors: errs, acked: r.acked, lost: oc.lost, histMiss: oc.histMissing,
		failed: r.failed, restart: r.restart}
}

func median[T int | int64 | float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianRow is the per-column median of rows; lost and missing are sums.
func medianRow(rs []row) row {
	col := func(f func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	d := func(f func(row) time.Duration) time.Duration {
		return time.Duration(col(func(r row) float64 { return float64(f(r)) }))
	}
	n := func(f func(row) int) int { return int(col(func(r row) float64 { return float64(f(r)) })) }
	out := row{target: rs[0].target, achieved: col(func(r row) float64 { return r.achieved }),
		p50: d(func(r row) time.Duration { return r.p50 }), p90: d(func(r row) time.Duration { return r.p90 }),
		p99: d(func(r row) time.Duration { return r.p99 }), maxLat: d(func(r row) time.Duration { return r.maxLat }),
		cpu: col(func(r row) float64 { return r.cpu }), gen: col(func(r row) float64 { return r.gen }), pg: col(func(r row) float64 { return r.pg }),
		steady: int64(col(func(r row) float64 { return float64(r.steady) })), peak: int64(col(func(r row) float64 { return float64(r.peak) })),
		errors: n(func(r row) int { return r.errors }), acked: n(func(r row) int { return r.acked }),
		failed: n(func(r row) int { return r.failed }), restart: d(func(r row) time.Duration { return r.restart }), histMiss: -1}
	for _, r := range rs {
		out.lost += r.lost
		if r.histMiss >= 0 {
			out.histMiss = max(out.histMiss, 0) + r.histMiss
		}
	}
	return out
}

func renderReport(o options, args []string, outs []outcome, date time.Time, load []string) string {
	var b strings.Builder
	cpuModel := ""
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(ci), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpuModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	la := ""
	if len(load) >= 3 {
		la = strings.Join(load[:3], " ")
	}
	fmt.Fprintf(&b, "### Feedback collector: %d stores, one report each per %s (%s UTC)\n\n", o.stores, o.period, date.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "`fleetc-collector-bench %s` on %d cores (%s), %s, load average %s at the start; %d run(s) per database, medians.\n\n",
		strings.Join(args, " "), runtime.NumCPU(), cpuModel, runtime.Version(), la, o.runs)
	b.WriteString("| database | reports/s target | achieved | p50 ms | p90 ms | p99 ms | max ms | collector CPU, % of a core | RSS steady / peak MB | generator CPU % | PostgreSQL CPU % | errors (attempts) | acknowledged | never acknowledged | lost after kill -9 | restart |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, db := range o.dbs {
		var rs []row
		for _, oc := range outs {
			if oc.db == db {
				rs = append(rs, rowOf(o, oc))
			}
		}
		if len(rs) == 0 {
			continue
		}
		m := medianRow(rs)
		pgc := "–"
		if db == "postgres" {
			pgc = fmt.Sprintf("%.0f", m.pg)
		}
		lost := fmt.Sprintf("**%d**", m.lost)
		if m.histMiss >= 0 {
			lost += fmt.Sprintf(" (history: %d)", m.histMiss)
		}
		restart := "–"
		if m.restart > 0 {
			restart = fmt.Sprintf("%.2f s", m.restart.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %s | %s | %s | %s | %.0f | %.0f / %.0f | %.0f | %s | %d | %d | %d | %s | %s |\n",
			db, m.target, m.achieved, ms(m.p50), ms(m.p90), ms(m.p99), ms(m.maxLat), m.cpu, mb(m.steady), mb(m.peak),
			m.gen, pgc, m.errors, m.acked, m.failed, lost, restart)
	}
	b.WriteString("\nPer run:\n\n")
	for _, oc := range outs {
		r := oc.res
		from := slices.Clone(r.fromSlot)
		sortDurations(from)
		var statuses []string
		for _, k := range slices.Sorted(maps.Keys(r.statuses)) {
			statuses = append(statuses, fmt.Sprintf("%s: %d", k, r.statuses[k]))
		}
		body := "–"
		if len(r.bodyBytes) > 0 {
			body = fmt.Sprintf("%d–%d bytes", slices.Min(r.bodyBytes), slices.Max(r.bodyBytes))
		}
		kill := "no kill"
		if r.killedAt > 0 {
			kill = fmt.Sprintf("killed -9 at %.1f s of %.0f s, healthy again after %.2f s", r.killedAt.Seconds(), r.wall.Seconds(), r.restart.Seconds())
		}
		hist := "not checked"
		if oc.histMissing >= 0 {
			hist = fmt.Sprintf("%d acknowledged seqs missing from fleetc_reports", oc.histMissing)
		}
		fmt.Fprintf(&b, "- %s, run %d: %d reports issued in %.1f s, %d acknowledged (%d within the schedule), %d never (%d not queued: generator saturated), %d retries answered 409 replay (committed, the answer lost in the kill); attempts by answer: %s; from the report's slot to its 200 (queueing and retries included): p50 %s, p99 %s, max %s ms; %s; first start (cold loader cache) %.2f s; bodies %s; machine busy %.0f %% of %d cores (other processes than collector, generator and PostgreSQL: %.0f %% of a core); %d stores in fleetc_stores; lost: %d below last_seq, history: %s.\n",
			oc.db, oc.run, r.issued, r.wall.Seconds(), r.acked, r.ackedInWindow, r.failed, r.dropped, r.replayOnRetry,
			strings.Join(statuses, ", "), ms(percentile(from, 0.5)), ms(percentile(from, 0.99)), ms(percentile(from, 1)),
			kill, oc.startup.Seconds(), body, 100*r.machine, runtime.NumCPU(),
			max(0, 100*r.machine*float64(runtime.NumCPU())-pct(r.collCPU+r.genCPU+oc.pgCPU, r.wall)), oc.storedRows, oc.lost, hist)
	}
	b.WriteString("\n")
	return b.String()
}
