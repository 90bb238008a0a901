// Command fleetc-bench is `make bench`: it generates synthetic fleets,
// measures fleetc on them (cold compile, warm compile after one app's
// version bump, plan of a bump, explain of one store, peak RSS, files
// written, deploy repo pack size) and the naive anchors in the same run
// (package bench), and prints a markdown report with medians. See
// docs/perf.md for the results and how to read them.
//
//	go run ./compiler/cmd/fleetc-bench -sizes 2000,10000,60000 -runs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "anchor" {
		os.Exit(anchorMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg := config{}
	flag.StringVar(&cfg.sizes, "sizes", "2000,10000,60000", "fleet sizes (stores), comma separated")
	flag.IntVar(&cfg.apps, "apps", 20, "apps per fleet")
	flag.IntVar(&cfg.runs, "runs", 3, "runs per measurement (medians are reported)")
	flag.StringVar(&cfg.work, "work", "/tmp/fleetc-bench", "work directory (fleets, trees, caches)")
	flag.StringVar(&cfg.out, "out", "", "also write the report to this file")
	flag.BoolVar(&cfg.anchors, "anchors", true, "measure the naive anchors")
	flag.DurationVar(&cfg.anchorLimit, "anchor-timeout", 4*time.Minute, "kill a naive anchor that runs longer")
	rssGiB := flag.Int64("anchor-max-rss-gib", 12, "kill a naive anchor whose resident memory grows past this")
	flag.Parse()
	cfg.anchorRSS = *rssGiB << 20
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "fleetc-bench:", err)
		os.Exit(2)
	}
}

// anchorMain runs one anchor in this process, so its time and peak RSS can
// be measured from outside: anchor cue ROOT | anchor kustomize DEPLOYDIR N.
func anchorMain(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: fleetc-bench anchor cue ROOT | kustomize DIR N")
		return 2
	}
	switch args[0] {
	case "cue":
		n, err := bench.CUEWhole(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "exported %d bytes\n", n)
		return 0
	}
	fmt.Fprintf(stderr, "unknown anchor %q\n", args[0])
	return 2
}
