package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// Verdict is the outcome of the gate for one change.
type Verdict string

const (
	Allow        Verdict = "allow"
	Deny         Verdict = "deny"          // must not run here: render removal
	Defer        Verdict = "defer"         // keep what the store runs now
	NeedsSignoff Verdict = "needs-signoff" // wait for approvals
	Warn         Verdict = "warn"          // only on reasons: no effect on the verdict
)

// Decision is the gate's answer for one input.
type Decision struct {
	Verdict Verdict
	Reasons []Reason
	Teams   []string  // sign-off teams still missing (needs-signoff)
	Until   time.Time // for defer: the latest "until" the defer rules gave; zero when unknown
}

// Reason is one message of one rule. A sign-off rule whose teams have all
// approved appears with Verdict allow.
type Reason struct {
	Rule    string   `json:"rule"` // e.g. "legal.deny_bipa"
	Verdict Verdict  `json:"verdict"`
	Msg     string   `json:"msg"`
	Teams   []string `json:"teams,omitempty"` // teams a sign-off rule asks for
	Pos     diag.Pos `json:"pos"`             // the rule's first definition

	until time.Time // from a defer message
}

// EvalOptions configure Decide.
type EvalOptions struct {
	Now       time.Time   // pins time.now_ns() and input.now
	Workers   int         // parallel evaluations; 0 = GOMAXPROCS
	Approvals ApprovalSet // input.approvals, the same for every input
	NoMemo    bool        // evaluate every input (benchmarks, debugging)
	// Budget bounds the time and memory of the session's evaluations;
	// zero fields are the defaults (60 s, 2 GiB). See Budget.
	Budget Budget
}

// EvalError is a policy failure: Decide fails closed with it.
type EvalError struct {
	Rule string   // rule id when known
	Pos  diag.Pos // rule or expression position when known
	Err  error
}

func (e *EvalError) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s + ": ")
	}
	if e.Rule != "" {
		b.WriteString("rule " + e.Rule + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *EvalError) Unwrap() error { return e.Err }

// Decide evaluates every input and returns one decision per input, in
// order. Any policy failure fails closed: the error names the rule and its
// position, and no decision is returned. Decisions of inputs that look the
// same to the policies share their Reasons and Teams slices: read only.
// Decide is a Session used once; callers with many inputs should hold a
// Session and avoid materialising every input.
func (e *Engine) Decide(ctx context.Context, inputs []Input, opts EvalOptions) ([]Decision, error) {
	s, err := e.NewSession(opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make([]Decision, len(inputs))
	err = parallel(ctx, len(inputs), opts.Workers, func(ctx context.Context, i int) error {
		d, err := s.Decide(ctx, &inputs[i])
		out[i] = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parallel calls fn for 0 <= i < n on workers goroutines (<= 0 means
// GOMAXPROCS), in chunks of consecutive indexes. The first error cancels
// the rest and is returned; a cancelled ctx returns its error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	const chunk = 256
	next := make(chan int)
	for range min(workers, (n+chunk-1)/chunk) {
		wg.Go(func() {
			for start := range next {
				for i := start; i < min(start+chunk, n); i++ {
					if err := fn(ctx, i); err != nil {
						errOnce.Do(func() { firstErr = err; cancel() })
						return
					}
				}
			}
		})
	}
feed:
	for start := 0; start < n; start += chunk {
		select {
		case next <- start:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("decide: %w", err)
	}
	return nil
}

// eval runs the prepared query once and folds the rule results.
func (r *Session) eval(ctx context.Context, input ast.Value) (Decision, error) {
	r.e.evals.Add(1)
	rs, err := r.evalGuarded(ctx, input)
	if IsBudget(err) {
		return Decision{}, err
	}
	if err != nil {
		return Decision{}, r.e.evalError(err)
	}
	if len(rs) != 1 {
		return Decision{}, &EvalError{Err: fmt.Errorf("policy query gave %d results, want 1", len(rs))}
	}
	var reasons []Reason
	for i, rule := range r.e.rules {
		v, ok := rs[0].Bindings[bindVar(i)]
		if !ok {
			return Decision{}, &EvalError{Rule: rule.ID, Pos: rule.Pos, Err: errors.New("result is undefined")}
		}
		rr, err := ruleReasons(rule, v)
		if err != nil {
			return Decision{}, &EvalError{Rule: rule.ID, Pos: rule.Pos, Err: err}
		}
		reasons = append(reasons, rr...)
	}
	return fold(reasons, r.opts.Approvals.Teams)
}

// ruleReasons checks one rule's set of messages.
func ruleReasons(rule Rule, v any) ([]Reason, error) {
	elems, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("result is %T, want a set of messages", v)
	}
	out := make([]Reason, 0, len(elems))
	for _, el := range elems {
		rs := Reason{Rule: rule.ID, Verdict: rule.Verdict, Pos: rule.Pos}
		switch m := el.(type) {
		case string:
			rs.Msg = m
		case map[string]any:
			msg, ok := m["msg"].(string)
			if !ok {
				return nil, fmt.Errorf("message object %v has no string \"msg\"", el)
			}
			rs.Msg = msg
			for k, x := range m {
				switch k {
				case "msg":
				case "teams":
					teams, err := stringList(x)
					if err != nil {
						return nil, fmt.Errorf("message %q: teams: %w", msg, err)
					}
					rs.Teams = teams
				case "until":
					if _, err := untilTime(x); err != nil {
						return nil, fmt.Errorf("message %q: until: %w", msg, err)
					}
				default:
					return nil, fmt.Errorf("message %q: unknown field %q (want msg, teams, until)", msg, k)
				}
			}
			if rule.Verdict == NeedsSignoff && len(rs.Teams) == 0 {
				return nil, fmt.Errorf("sign-off message %q names no teams", msg)
			}
		default:
			return nil, fmt.Errorf("message %v is %T, want a string or an object with \"msg\"", el, el)
		}
		if rule.Verdict == NeedsSignoff && rs.Teams == nil {
			return nil, fmt.Errorf("sign-off message %q must be an object with \"teams\"", rs.Msg)
		}
		out = append(out, rs)
	}
	// until is kept on the side: attach after validation
	for i, el := range elems {
		if m, ok := el.(map[string]any); ok {
			if t, _ := untilTime(m["until"]); !t.IsZero() {
				out[i].until = t
			}
		}
	}
	return out, nil
}

func stringList(x any) ([]string, error) {
	xs, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list of team names", x)
	}
	out := make([]string, 0, len(xs))
	for _, e := range xs {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%v is not a team name", e)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// untilTime accepts an RFC 3339 string; "" and absent mean unknown.
func untilTime(x any) (time.Time, error) {
	switch v := x.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		if v == "" {
			return time.Time{}, nil
		}
		return time.Parse(time.RFC3339, v)
	}
	return time.Time{}, fmt.Errorf("%v is not an RFC 3339 time", x)
}

// fold applies the precedence deny > defer > needs-signoff > allow. A
// sign-off reason is satisfied when every team it names has approved.
func fold(reasons []Reason, approved []string) (Decision, error) {
	var d Decision
	missing := map[string]bool{}
	var deny, deferred bool
	for i := range reasons {
		rs := &reasons[i]
		switch rs.Verdict {
		case Deny:
			deny = true
		case Defer:
			deferred = true
			if rs.until.After(d.Until) {
				d.Until = rs.until
			}
		case NeedsSignoff:
			satisfied := true
			for _, t := range rs.Teams {
				if _, ok := slices.BinarySearch(approved, t); !ok {
					missing[t] = true
					satisfied = false
				}
			}
			if satisfied {
				rs.Verdict = Allow
			}
		}
	}
	switch {
	case deny:
		d.Verdict, d.Until = Deny, time.Time{}
	case deferred:
		d.Verdict = Defer
	case len(missing) > 0:
		d.Verdict = NeedsSignoff
	default:
		d.Verdict = Allow
	}
	if d.Verdict == NeedsSignoff {
		for t := range missing {
			d.Teams = append(d.Teams, t)
		}
		slices.Sort(d.Teams)
	}
	slices.SortFunc(reasons, func(a, b Reason) int {
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Msg, b.Msg)
	})
	d.Reasons = reasons
	return d, nil
}

// evalError turns an OPA evaluation error into an EvalError at the
// expression that failed and the rule around it.
func (e *Engine) evalError(err error) error {
	var te *topdown.Error
	if errors.As(err, &te) && te.Location != nil {
		pos := locPos(te.Location)
		return &EvalError{Rule: e.ruleAt(te.Location), Pos: pos, Err: fmt.Errorf("%s: %s", te.Code, te.Message)}
	}
	return &EvalError{Err: fmt.Errorf("evaluate policies: %w", err)}
}

// ruleAt names the rule whose text contains loc, as package.rule.
func (e *Engine) ruleAt(loc *ast.Location) string {
	m, ok := e.modules[loc.File]
	if !ok {
		return ""
	}
	for _, r := range m.Rules {
		rl := r.Location
		if rl == nil || rl.File != loc.File {
			continue
		}
		end := rl.Row + strings.Count(string(rl.Text), "\n")
		if loc.Row >= rl.Row && loc.Row <= end {
			return strings.TrimPrefix(m.Package.Path.String(), "data.fleetc.") + "." + r.Head.Ref().String()
		}
	}
	return ""
}
