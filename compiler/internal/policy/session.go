package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
)

// Session evaluates inputs under one set of EvalOptions and shares one
// memo across every call: inputs that look the same to the policies (equal
// after reducing each section to the paths the policies read) are
// evaluated once per session. A Session is safe for concurrent use. The
// pointer fields of inputs (see Input) must not change while it is in use.
type Session struct {
	e      *Engine
	opts   EvalOptions
	guard  *guard
	caches [numSections]*sectionCache // nil: section not read

	mu   sync.Mutex
	memo map[memoKey]*memoEntry
}

type memoEntry struct {
	done chan struct{}
	d    Decision
	err  error
}

// NewSession starts a session and its budget's clock. opts.Now is
// required; opts.Workers is not used by the session itself (callers
// parallelise their calls). Close it when done: until then a watchdog
// enforces opts.Budget. Once the budget is exceeded every evaluation of
// the session fails.
func (e *Engine) NewSession(opts EvalOptions) (*Session, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("decide: EvalOptions.Now is required")
	}
	if err := opts.Budget.check(); err != nil {
		return nil, fmt.Errorf("decide: %w", err)
	}
	opts.Budget = opts.Budget.orDefault()
	r := &Session{e: e, opts: opts, memo: map[memoKey]*memoEntry{}, guard: newGuard(opts.Budget)}
	for s, name := range sectionNames {
		t := e.paths
		if !t.whole {
			var ok bool
			if t, ok = t.kids[name]; !ok {
				continue
			}
		}
		r.caches[s] = newSectionCache(t)
	}
	return r, nil
}

// Close stops the session's budget watchdog. Decide must not be called
// after Close.
func (r *Session) Close() { r.guard.close() }

// Decide returns the decision of one input, evaluating the policies only
// the first time its class is seen in this session. A policy failure is an
// *EvalError (fail closed); a failed class fails every later call for it.
// The decision's Reasons and Teams are shared between calls: read only.
func (r *Session) Decide(ctx context.Context, in *Input) (Decision, error) {
	k := r.key(in)
	if r.opts.NoMemo {
		return r.eval(ctx, r.document(k))
	}
	r.mu.Lock()
	if m, ok := r.memo[k]; ok {
		r.mu.Unlock()
		<-m.done
		return m.d, m.err
	}
	m := &memoEntry{done: make(chan struct{})}
	r.memo[k] = m
	r.mu.Unlock()
	m.d, m.err = r.eval(ctx, r.document(k))
	close(m.done)
	return m.d, m.err
}

// StoreClass returns the class of a store as the policies see it: two
// stores with the same class give every input the same input.store
// (reduced to the paths the policies read). -1 when no policy reads
// input.store. Call it once per store: it does not remember sf.
func (r *Session) StoreClass(sf *StoreFacts) int32 {
	c := r.caches[secStore]
	if c == nil {
		return -1
	}
	return c.intern(storeValue(sf, c.trie))
}

// WindowClass is StoreClass for input.window.
func (r *Session) WindowClass(w calendar.Window) int32 {
	c := r.caches[secWindow]
	if c == nil {
		return -1
	}
	return c.id(windowKeyOf(w), func() ast.Value { return windowValue(w) })
}
