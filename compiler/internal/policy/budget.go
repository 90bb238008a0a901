package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Budget bounds the policy evaluation of one compile (one Session). A
// policy that exceeds it stops every evaluation of the session, and the
// compile fails closed: nothing is written.
//
//   - Time is wall time from NewSession. OPA checks for cancellation
//     before every expression and inside numbers.range, so evaluation stops
//     within one expression of the deadline.
//   - Memory is how far the heap may grow while the session lives, over
//     the heap at NewSession. Go has no per-goroutine limit: a watchdog
//     samples the heap every 10 ms (runtime/metrics) and, when it is over
//     the budget, collects garbage once and measures the live heap; if
//     that is still over, it stops evaluation. The heap is the process's,
//     so what the rest of the compile allocates meanwhile counts too (the
//     default leaves room for that). A single builtin call cannot be
//     interrupted: the ones whose result can grow far beyond their
//     arguments in one call are capped by size (bounded.go).
//
// Neither can be switched off: a zero field means its default.
type Budget struct {
	Time   time.Duration
	Memory int64 // bytes
}

const (
	DefaultTimeBudget   = 60 * time.Second
	DefaultMemoryBudget = 2 << 30 // 2 GiB
)

// orDefault fills zero fields with the defaults.
func (b Budget) orDefault() Budget {
	if b.Time == 0 {
		b.Time = DefaultTimeBudget
	}
	if b.Memory == 0 {
		b.Memory = DefaultMemoryBudget
	}
	return b
}

func (b Budget) check() error {
	if b.Time < 0 || b.Memory < 0 {
		return fmt.Errorf("policy budget %s, %s: a budget must be positive", b.Time, formatBytes(b.Memory))
	}
	return nil
}

// BudgetError says that the policies ran out of their budget. Decide
// returns it inside an *EvalError naming the rule and position where
// evaluation was when it stopped, when fleetc could find it.
type BudgetError struct {
	Kind string        // "time" or "memory"
	Time time.Duration // the time budget
	Mem  int64         // the memory budget, bytes
	Heap int64         // for memory: the heap's growth when it stopped
	Flag string        // the flag that sets this budget
}

func (e *BudgetError) Error() string {
	var what string
	switch e.Kind {
	case "time":
		what = fmt.Sprintf("policy evaluation ran past its time budget of %s", e.Time)
	default:
		what = fmt.Sprintf("policy evaluation grew the heap by %s, over its memory budget of %s", formatBytes(e.Heap), formatBytes(e.Mem))
	}
	return what + "; the compile failed closed and nothing was written: make the policy cheaper (no large ranges or comprehensions over them) or raise " + e.Flag
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// guard enforces a Budget over the evaluations of one session: a watchdog
// goroutine trips it, and every evaluation's topdown.Cancel reads it.
type guard struct {
	budget  Budget
	tripped atomic.Pointer[BudgetError]
	stop    chan struct{}
	stopped sync.Once

	located sync.Once
	failure error // the first failure, located: every evaluation returns it
}

func newGuard(b Budget) *guard {
	g := &guard{budget: b, stop: make(chan struct{})}
	go g.watch(heapObjects())
	return g
}

// close stops the watchdog.
func (g *guard) close() { g.stopped.Do(func() { close(g.stop) }) }

func (g *guard) trip(e *BudgetError) { g.tripped.CompareAndSwap(nil, e) }

const (
	memSample    = 10 * time.Millisecond
	memForcedGCs = 100 * time.Millisecond // at most one forced collection per interval
)

func (g *guard) watch(base int64) {
	deadline := time.NewTimer(g.budget.Time)
	defer deadline.Stop()
	tick := time.NewTicker(memSample)
	defer tick.Stop()
	var lastGC time.Time
	for {
		select {
		case <-g.stop:
			return
		case <-deadline.C:
			g.trip(&BudgetError{Kind: "time", Time: g.budget.Time, Mem: g.budget.Memory, Flag: "--policy-time-budget"})
			return
		case <-tick.C:
			if heapObjects()-base <= g.budget.Memory || time.Since(lastGC) < memForcedGCs {
				continue
			}
			// Over the budget counting garbage: collect, then judge
			// the live heap only.
			runtime.GC()
			lastGC = time.Now()
			if grown := heapLive() - base; grown > g.budget.Memory {
				g.trip(&BudgetError{Kind: "memory", Time: g.budget.Time, Mem: g.budget.Memory, Heap: grown, Flag: "--policy-memory-budget"})
				return
			}
		}
	}
}

// heapObjects is the heap's object bytes, live and not yet swept.
func heapObjects() int64 { return readMetric("/memory/classes/heap/objects:bytes") }

// heapLive is the live heap as of the last collection.
func heapLive() int64 { return readMetric("/gc/heap/live:bytes") }

func readMetric(name string) int64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// evalCancel is one evaluation's topdown.Cancel: cancelled when the
// session's guard trips or the evaluation's own context is done.
type evalCancel struct {
	g    *guard
	done atomic.Bool
}

func (c *evalCancel) Cancel()         { c.done.Store(true) }
func (c *evalCancel) Cancelled() bool { return c.done.Load() || c.g.tripped.Load() != nil }

// evalGuarded runs the prepared query once under the session's guard.
func (r *Session) evalGuarded(ctx context.Context, input ast.Value, extra ...rego.EvalOption) (rego.ResultSet, error) {
	c := &evalCancel{g: r.guard}
	stop := context.AfterFunc(ctx, c.Cancel)
	defer stop()
	opts := append([]rego.EvalOption{rego.EvalParsedInput(input), rego.EvalTime(r.opts.Now), rego.EvalExternalCancel(c)}, extra...)
	rs, err := r.e.query.Eval(ctx, opts...)
	if err != nil && r.guard.tripped.Load() != nil {
		return nil, r.budgetFailure(input)
	}
	return rs, err
}

// budgetFailure is the error of every evaluation stopped by the guard.
// The first one finds where evaluation was: it runs the same input once
// more under a short budget with a tracer, and names the last policy
// expression it reached.
func (r *Session) budgetFailure(input ast.Value) error {
	r.guard.located.Do(func() {
		be := r.guard.tripped.Load()
		ee := &EvalError{Err: be}
		if loc := r.e.locate(input, r.opts.Now, be); loc != nil {
			ee.Pos = locPos(loc)
			ee.Rule = r.e.ruleAt(loc)
		}
		r.guard.failure = ee
	})
	return r.guard.failure
}

// locateTime bounds the run that finds where a budget was exceeded.
const locateTime = time.Second

// locate evaluates input with a tracer until it is stopped (by a budget of
// its own: the time budget, at most locateTime, and the memory budget)
// and returns the location of the last policy expression evaluated.
func (e *Engine) locate(input ast.Value, now time.Time, be *BudgetError) *ast.Location {
	b := Budget{Time: min(be.Time, locateTime), Memory: be.Mem}
	g := newGuard(b)
	defer g.close()
	t := &lastLocation{modules: e.modules}
	_, _ = e.query.Eval(context.Background(), rego.EvalParsedInput(input), rego.EvalTime(now),
		rego.EvalExternalCancel(&evalCancel{g: g}), rego.EvalQueryTracer(t))
	return t.loc
}

// lastLocation is a tracer that remembers the last event located in a
// policy module.
type lastLocation struct {
	modules map[string]*ast.Module
	loc     *ast.Location
}

func (t *lastLocation) Enabled() bool               { return true }
func (t *lastLocation) Config() topdown.TraceConfig { return topdown.TraceConfig{} }
func (t *lastLocation) TraceEvent(ev topdown.Event) {
	if ev.Location == nil || ev.Op != topdown.EvalOp {
		return
	}
	if _, ok := t.modules[ev.Location.File]; ok {
		t.loc = ev.Location
	}
}

// IsBudget reports whether err is a policy budget failure.
func IsBudget(err error) bool {
	var be *BudgetError
	return errors.As(err, &be)
}
