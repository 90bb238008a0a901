// Command fleetc-collector-bench measures the feedback collector (`fleetc
// feedback serve`) under the load of a whole fleet: N stores, each
// reporting once a minute, on SQLite and on PostgreSQL, with one kill -9
// of the collector in the last third of the run. See docs/perf.md,
// "Feedback collector load", for the results and how to read them.
//
// It writes a synthetic fleet of N stores, each declaring an agent public
// key (deterministic ed25519 keys from the store id, as the feedback
// tests make them), starts the collector as its own process on a fresh
// database and a free loopback port, and drives an open-loop schedule:
// N/period reports a second, each store's signed ~3 KB, 20-app report at
// its slot, sent by the first free one of a bounded pool of keep-alive
// HTTP clients. It records the latency of every acknowledged report, the
// answers by status, the collector's CPU time and memory (from /proc every
// second), its own CPU and PostgreSQL's, kills the collector with SIGKILL
// at a random moment of the last third and starts it again on the same
// database, and at the end checks that every report answered 200 is in
// the database: its store's last_seq in fleetc_stores is at least the
// highest seq acknowledged (and, when every report is a state change,
// that each acknowledged seq is a row of fleetc_reports). An acknowledged
// report missing makes it exit 1.
//
//	go build -o bin/fleetc ./compiler/cmd/fleetc
//	go run ./compiler/cmd/fleetc-collector-bench -fleetc bin/fleetc -stores 60000 -duration 60s
//
// A run takes the duration plus a minute or so of setup per database;
// medians over -runs are reported (1 by default, since a run is minutes).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	stores     int
	period     time.Duration
	duration   time.Duration
	drain      time.Duration
	dbs        []string
	runs       int
	fleetc     string
	workers    int
	retries    int
	change     float64
	kill       bool
	rate       float64
	burst      int
	history    int
	seed       uint64
	out        string
	work       string
	keep       bool
	cpuProfile string
}

func main() {
	var o options
	var dbs string
	flag.IntVar(&o.stores, "stores", 60000, "stores in the synthetic fleet; each reports once per -period")
	flag.DurationVar(&o.period, "period", time.Minute, "each store's report interval (the target rate is stores/period)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load runs per database and run")
	flag.DurationVar(&o.drain, "drain", 30*time.Second, "how long retries may go on after the load ends")
	flag.StringVar(&dbs, "dbs", "sqlite,postgres", "databases to measure, comma separated: sqlite, postgres (a server from Debian's postgresql package, started by the bench)")
	flag.IntVar(&o.runs, "runs", 1, "runs per database (medians are reported); 1 by default since a run takes minutes")
	flag.StringVar(&o.fleetc, "fleetc", "", "the fleetc binary to measure (default: build ./compiler/cmd/fleetc into the work directory)")
	flag.IntVar(&o.workers, "workers", 256, "concurrent HTTP requests at most (keep-alive connections)")
	flag.IntVar(&o.retries, "retries", 5, "retries of a report that got no answer, a 5xx or a 429 (backoff 1, 2, 4, 8 s), as an agent's spool would")
	flag.Float64Var(&o.change, "change", 1, "share of reports that change the store's state (a history row); the rest are heartbeats")
	flag.BoolVar(&o.kill, "kill", true, "kill -9 the collector once at a random moment of the last third, restart it and check no acknowledged report is lost")
	flag.Float64Var(&o.rate, "rate", 0.2, "the collector's --rate (reports per second per store)")
	flag.IntVar(&o.burst, "burst", 120, "the collector's --burst")
	flag.IntVar(&o.history, "history", 100, "the collector's --history (state changes kept per store)")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the schedule's store order and the kill moment")
	flag.StringVar(&o.out, "out", "", "also write the report (markdown) to this file")
	flag.StringVar(&o.work, "work", "", "work directory (fleet, databases, logs); default a new temporary directory, removed at the end")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the collector process that is stopped at the end (after the restart when -kill) to PREFIX-<db>-run<N>.pprof (FLEETC_CPUPROFILE)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: fleetc-collector-bench [flags]\n\nLoad benchmark of fleetc's feedback collector (docs/perf.md).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	for _, d := range strings.Split(dbs, ",") {
		switch d = strings.TrimSpace(d); d {
		case "sqlite", "postgres":
			o.dbs = append(o.dbs, d)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "fleetc-collector-bench: -dbs: unknown database %q (want sqlite, postgres)\n", d)
			os.Exit(2)
		}
	}
	if o.stores < 1 || o.runs < 1 || o.workers < 1 || len(o.dbs) == 0 || o.duration <= 0 || o.period <= 0 {
		fmt.Fprintln(os.Stderr, "fleetc-collector-bench: -stores, -runs, -workers, -duration, -period must be positive and -dbs not empty")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lost, err := run(ctx, o, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetc-collector-bench:", err)
		os.Exit(2)
	}
	if lost > 0 {
		fmt.Fprintf(os.Stderr, "fleetc-collector-bench: %d acknowledged reports are not in the database\n", lost)
		os.Exit(1)
	}
}
