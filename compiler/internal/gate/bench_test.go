package gate

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// benchStores × benchApps is the fleet of the issue "Fleet-scale
// performance". Run with -benchtime=1x: one iteration is a whole compile's
// gate.
var benchStores, benchApps = 60000, 20

var benchFleet = sync.OnceValues(func() (*target.Result, error) {
	f := synthFleet(benchStores, benchApps, nil)
	tr, diags := target.Resolve(context.Background(), f, target.Options{})
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	return tr, nil
})

// peakHeap samples the live heap every few milliseconds until stop is
// called and returns the peak above the heap at the start.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		peak = max(peak, read())
		return peak - base
	}
}

// cpuTime is the CPU time (user + system) the process has used: under a
// loaded machine it measures the work where wall time measures the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGate runs the gate with the embedded policies over 60,000
// stores × 20 apps: a first compile (empty previous state, every pair an
// install), the steady state (previous state = target: almost every pair
// unchanged) and one app bumped (one upgrade per store). Each reports the
// gate alone, then Summarize and the decisions.jsonl encoding, and the
// peak live heap the gate added, its wall time and its CPU time.
func BenchmarkGate(b *testing.B) {
	tr, err := benchFleet()
	if err != nil {
		b.Fatal(err)
	}
	e, diags, err := policy.Load(context.Background(), policy.Options{Root: b.TempDir()})
	if err != nil || diags.HasErrors() {
		b.Fatal(err, diags)
	}
	approvals := policy.ApprovalSet{Users: []string{"dokafor"}, Teams: []string{"ops"}}
	cases := []struct {
		name string
		prev func() *deploy.State
	}{
		{"cold", deploy.NewState},
		{"steady", func() *deploy.State { return targetState(tr) }},
		{"bump", func() *deploy.State { return bumpedState(tr, "app-04") }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			prev := tc.prev()
			for b.Loop() {
				evals := e.Evaluations()
				stop := peakHeap()
				cpu0 := cpuTime()
				start := time.Now()
				res, diags, err := Run(context.Background(), Options{Targets: tr, Previous: prev, Engine: e, Approvals: approvals, Now: now})
				gate := time.Since(start)
				cpu := cpuTime() - cpu0
				peak := stop()
				if err != nil || diags.HasErrors() {
					b.Fatal(err, diags)
				}
				start = time.Now()
				Summarize(res.Decisions, tr.Fleet)
				sum := time.Since(start)
				start = time.Now()
				AppendJSONL(nil, res.Decisions)
				jsonl := time.Since(start)
				b.ReportMetric(float64(res.Evaluated), "pairs")
				b.ReportMetric(float64(e.Evaluations()-evals), "evals")
				b.ReportMetric(float64(len(res.Decisions)), "decisions")
				b.ReportMetric(gate.Seconds(), "gate-s")
				b.ReportMetric(cpu.Seconds(), "gate-cpu-s")
				b.ReportMetric(sum.Seconds(), "summarize-s")
				b.ReportMetric(jsonl.Seconds(), "jsonl-s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			}
		})
	}
	// The naive anchor: one OPA evaluation per (store, app) pair, no reuse
	// of decisions, on 20,000 pairs sampled evenly across the first
	// compile's candidates, extrapolated to every pair.
	b.Run("naive", func(b *testing.B) {
		bl, diags := newBuilder(Options{Targets: tr, Previous: deploy.NewState(), Now: now})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		inputs, _ := bl.candidates()
		const n = 20000
		sample := make([]policy.Input, 0, n)
		for i := range n {
			sample = append(sample, inputs[i*len(inputs)/n])
		}
		for b.Loop() {
			start := time.Now()
			if _, err := e.Decide(context.Background(), sample, policy.EvalOptions{Now: now, Approvals: approvals, NoMemo: true}); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			b.ReportMetric(d.Seconds(), "sample-s")
			b.ReportMetric(d.Seconds()*float64(len(inputs))/n, "extrapolated-s")
			b.ReportMetric(float64(len(inputs)), "pairs")
		}
	})
}
