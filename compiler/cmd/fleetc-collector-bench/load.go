package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/fleetc/fleetc/agent/report"
)

// loadConfig is one load run against one collector.
type loadConfig struct {
	keys     []ed25519.PrivateKey // one per store, index i-1 for store i
	period   time.Duration        // each store reports once per period
	duration time.Duration        // how long the schedule runs
	drain    time.Duration        // how long retries may run after it
	workers  int                  // concurrent HTTP requests at most
	retries  int                  // retries of a report that got no answer, 5xx or 429
	change   float64              // share of reports that are a state change
	kill     bool                 // kill -9 the collector once, in the last third
	seed     uint64
	// restart starts the collector again on the same database.
	restart func(ctx context.Context) (*collector, error)
}

// job is one report and its attempts: a retry resends the same body and
// signature (the agent's spool), so the same seq.
type job struct {
	store   int // 0-based
	seq     uint64
	slot    time.Time // when the schedule issues it
	attempt int
	body    []byte
	sig     string
}

// loadResult is what a load run measured.
type loadResult struct {
	wall          time.Duration // the schedule's length, as run
	issued        int           // reports the schedule issued
	ackedInWindow int           // 200 answers received while the schedule ran
	acked         int           // reports answered 200 (any attempt, drain included)
	replayOnRetry int           // a retry answered 409 replay: an earlier attempt was committed unanswered
	failed        int           // reports never acknowledged after all retries
	dropped       int           // reports the generator could not queue (all workers busy, queue full)
	statuses      map[string]int
	latency       []time.Duration // send → 200 answer, every acknowledged attempt
	fromSlot      []time.Duration // scheduled slot → 200 answer (queueing and retries included)
	ackedSeqs     [][]uint64      // per store, the seqs answered 200
	bodyBytes     []int           // sizes of a sample of bodies

	killedAt   time.Duration // into the run; 0 when not killed
	restart    time.Duration // kill -9 → /healthz 200 of the new process
	collectors []*collector  // the processes, in order
	samples    []sample
	genCPU     time.Duration // this program's user+system CPU over the schedule
	collCPU    time.Duration // the collectors' CPU over the schedule (startups excluded)
	machine    float64       // the machine's busy share over the schedule (1 = every core)
}

// sample is one reading of the collector process, every second.
type sample struct {
	at       time.Duration
	rss, hwm int64 // KiB
}

// errorClass names a failed attempt for the errors-by-status table.
func errorClass(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset/closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &op):
		return "network: " + op.Op
	}
	return "transport error"
}

// drive runs the open-loop schedule against c: report k of the period goes
// to a store of a fixed random permutation at start + k·period/N, taken by
// the first free one of cfg.workers HTTP clients.
func drive(ctx context.Context, c *collector, cfg loadConfig) (*loadResult, error) {
	n := len(cfg.keys)
	res := &loadResult{statuses: map[string]int{}, ackedSeqs: make([][]uint64, n), collectors: []*collector{c}}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	perm := rng.Perm(n)
	interval := cfg.period / time.Duration(n)
	killAt := time.Duration(0)
	if cfg.kill {
		third := cfg.duration / 3
		killAt = 2*third + time.Duration(rng.Int64N(int64(third)))
	}

	transport := &http.Transport{MaxIdleConns: cfg.workers, MaxIdleConnsPerHost: cfg.workers, MaxConnsPerHost: cfg.workers,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()

	var mu sync.Mutex // guards res and cur
	cur := c
	url := c.url + "/v1/reports"
	queue := make(chan *job, n)
	var pending sync.WaitGroup // jobs not yet resolved
	start := time.Now()
	end := start.Add(cfg.duration)
	retryUntil := end.Add(cfg.drain)

	change := func(store int, seq uint64) bool {
		h := fnv.New64a()
		fmt.Fprint(h, store, "/", seq)
		return float64(h.Sum64()%1_000_000)/1e6 < cfg.change
	}
	enqueue := func(j *job) {
		select {
		case queue <- j:
		default:
			mu.Lock()
			res.dropped++
			res.failed++
			mu.Unlock()
			pending.Done()
		}
	}
	finish := func(j *job, status int, err error, sent, answered time.Time) {
		mu.Lock()
		defer mu.Unlock()
		class := ""
		switch {
		case err != nil:
			class = errorClass(err)
		default:
			class = fmt.Sprint(status)
		}
		res.statuses[class]++
		switch {
		case status == http.StatusOK:
			res.acked++
			if answered.Before(end) {
				res.ackedInWindow++
			}
			res.latency = append(res.latency, answered.Sub(sent))
			res.fromSlot = append(res.fromSlot, answered.Sub(j.slot))
			res.ackedSeqs[j.store] = append(res.ackedSeqs[j.store], j.seq)
		case status == http.StatusConflict && j.attempt > 0:
			res.replayOnRetry++
		case err != nil || status >= 500 || status == http.StatusTooManyRequests:
			backoff := time.Second << min(j.attempt, 3)
			if j.attempt < cfg.retries && time.Now().Add(backoff).Before(retryUntil) {
				j.attempt++
				time.AfterFunc(backoff, func() { enqueue(j) })
				return // still pending
			}
			res.failed++
		default:
			res.failed++ // another 4xx: a bug in the generator or the fleet
		}
		pending.Done()
	}

	var workers sync.WaitGroup
	for range cfg.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range queue {
				if j.body == nil {
					store := storeID(j.store + 1)
					body, err := reportBody(store, j.seq, change(j.store, j.seq), time.Now())
					if err != nil {
						panic(err)
					}
					j.body, j.sig = body, report.Sign(cfg.keys[j.store], body)
					if j.store%97 == 0 && j.seq == 1 {
						mu.Lock()
						res.bodyBytes = append(res.bodyBytes, len(body))
						mu.Unlock()
					}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(j.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(report.HeaderStore, storeID(j.store+1))
				req.Header.Set(report.HeaderSignature, j.sig)
				sent := time.Now()
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				finish(j, status, err, sent, time.Now())
			}
		}()
	}

	// The sampler reads the collector every second and accounts its CPU.
	var collCPU time.Duration
	base, _ := cpuTime(c.pid, false)
	lastCPU := base
	account := func(pid int) { // caller holds mu
		if t, err := cpuTime(pid, false); err == nil {
			lastCPU = t
		}
	}
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampler:
				return
			case <-t.C:
			}
			mu.Lock()
			pid := cur.pid
			account(pid)
			mu.Unlock()
			if rss, hwm, err := memory(pid); err == nil {
				mu.Lock()
				res.samples = append(res.samples, sample{at: time.Since(start), rss: rss, hwm: hwm})
				mu.Unlock()
			}
		}
	}()

	// kill -9 and restart, once.
	var killErr error
	killDone := make(chan struct{})
	if cfg.kill {
		go func() {
			defer close(killDone)
			select {
			case <-time.After(time.Until(start.Add(killAt))):
			case <-ctx.Done():
				return
			}
			mu.Lock()
			account(cur.pid)
			collCPU += lastCPU - base
			if _, hwm, err := memory(cur.pid); err == nil {
				res.samples = append(res.samples, sample{at: time.Since(start), hwm: hwm})
			}
			killed := time.Now()
			res.killedAt = killed.Sub(start)
			cur.kill()
			mu.Unlock()
			nc, err := cfg.restart(ctx)
			if err != nil {
				killErr = err
				return
			}
			mu.Lock()
			res.restart = time.Since(killed)
			res.collectors = append(res.collectors, nc)
			cur = nc
			base, _ = cpuTime(nc.pid, false)
			lastCPU = base
			mu.Unlock()
		}()
	} else {
		close(killDone)
	}

	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	busy0, total0 := machineCPU()
	// The pacer: issue every report whose slot has come, then sleep to the
	// next slot (several per wake-up when the timer is late).
	k := 0
pace:
	for {
		now := time.Now()
		for {
			slot := start.Add(time.Duration(k) * interval)
			if !slot.Before(end) {
				break pace
			}
			if slot.After(now) {
				break
			}
			pending.Add(1)
			enqueue(&job{store: perm[k%n], seq: uint64(k/n) + 1, slot: slot})
			k++
		}
		select {
		case <-ctx.Done():
			break pace
		case <-time.After(time.Until(start.Add(time.Duration(k) * interval))):
		}
	}
	res.wall = time.Since(start)
	res.issued = k
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	busy1, total1 := machineCPU()
	res.genCPU = time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	if total1 > total0 {
		res.machine = float64(busy1-busy0) / float64(total1-total0)
	}
	<-killDone
	mu.Lock()
	account(cur.pid)
	collCPU += lastCPU - base
	base = lastCPU // the drain is not counted
	mu.Unlock()
	close(stopSampler)
	<-samplerDone
	res.collCPU = collCPU

	// Drain: wait for the answers and retries still under way.
	waited := make(chan struct{})
	go func() { pending.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return res, ctx.Err() // retries may still be queued: leave the workers
	}
	close(queue)
	workers.Wait()
	sortDurations(res.latency)
	sortDurations(res.fromSlot)
	if killErr != nil {
		return res, fmt.Errorf("restart after kill -9: %w", killErr)
	}
	return res, ctx.Err()
}

// percentile of sorted durations, p in [0, 1].
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func sortDurations(d []time.Duration) { slices.Sort(d) }
