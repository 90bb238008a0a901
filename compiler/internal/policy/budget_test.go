package policy

import (
	"context"
	"errors"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// decideOne evaluates one install under budget and returns the error.
func decideOne(t *testing.T, policy string, b Budget) error {
	t.Helper()
	e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": policy}))
	in := Input{App: &model.App{ID: "pos"}, Change: Change{To: "1.0.0", Kind: Install}}
	ds, err := e.Decide(context.Background(), []Input{in}, EvalOptions{Now: time.Unix(0, 0), Budget: b})
	if err == nil {
		t.Fatalf("want a budget error, got %+v", ds)
	}
	return err
}

// peakHeap samples the heap until stop is called and returns the largest
// growth over the heap at the start.
func peakHeap() (stop func() int64) {
	read := func() int64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64())
	}
	base := read()
	var peak atomic.Int64
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if g := read() - base; g > peak.Load() {
					peak.Store(g)
				}
			}
		}
	}()
	return func() int64 { close(done); <-exited; return peak.Load() }
}

// TestMemoryBudget: one rule over numbers.range(1, 50000000) - several GB
// unbounded - is stopped by the memory budget, names the rule at its
// position and leaves the heap's growth bounded.
func TestMemoryBudget(t *testing.T) {
	stop := peakHeap()
	err := decideOne(t, `package fleetc.p

deny_huge contains msg if {
	input.app.id != ""
	xs := numbers.range(1, 50000000)
	msg := sprintf("%d", [count(xs)])
}
`, Budget{Memory: 64 << 20})
	peak := stop()
	var be *BudgetError
	var ee *EvalError
	if !errors.As(err, &be) || be.Kind != "memory" || !errors.As(err, &ee) {
		t.Fatalf("want a memory budget error, got %v", err)
	}
	if ee.Rule != "p.deny_huge" || ee.Pos.String() != "policies/p.rego:5:8" {
		t.Errorf("error at rule %q %s, want p.deny_huge at policies/p.rego:5:8: %v", ee.Rule, ee.Pos, err)
	}
	for _, want := range []string{"memory budget of 64 MiB", "failed closed", "--policy-memory-budget"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if peak > 1<<30 {
		t.Errorf("heap grew by %d MiB under a 64 MiB budget", peak>>20)
	}
	t.Logf("peak heap growth %d MiB: %v", peak>>20, err)
}

// TestTimeBudget: a policy that iterates for minutes without allocating
// much is stopped by the time budget.
func TestTimeBudget(t *testing.T) {
	err := decideOne(t, `package fleetc.p

defer_slow contains "never" if {
	input.app.id != ""
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i * j == -1
}
`, Budget{Time: 2 * time.Second})
	var be *BudgetError
	var ee *EvalError
	if !errors.As(err, &be) || be.Kind != "time" || !errors.As(err, &ee) {
		t.Fatalf("want a time budget error, got %v", err)
	}
	if ee.Rule != "p.defer_slow" || !strings.HasPrefix(ee.Pos.String(), "policies/p.rego:") {
		t.Errorf("error at rule %q %s, want p.defer_slow in policies/p.rego: %v", ee.Rule, ee.Pos, err)
	}
	if !strings.Contains(err.Error(), "time budget of 2s") || !strings.Contains(err.Error(), "--policy-time-budget") {
		t.Errorf("error %q does not name the budget and its flag", err)
	}
	t.Log(err)
}

// TestBudgetRefused: a budget cannot be switched off; a negative one is
// refused, zero means the default.
func TestBudgetRefused(t *testing.T) {
	e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": "package fleetc.p\n\nwarn_x contains \"x\"\n"}))
	for _, b := range []Budget{{Time: -time.Second}, {Memory: -1}} {
		if _, err := e.NewSession(EvalOptions{Now: time.Unix(0, 0), Budget: b}); err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("budget %+v: got %v, want a refusal", b, err)
		}
	}
	s, err := e.NewSession(EvalOptions{Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.opts.Budget != (Budget{Time: DefaultTimeBudget, Memory: DefaultMemoryBudget}) {
		t.Errorf("zero budget became %+v, want the defaults", s.opts.Budget)
	}
}

// TestBoundedBuiltins: builtins that build a huge result in one call the
// budget cannot interrupt fail at the call's position before they start.
func TestBoundedBuiltins(t *testing.T) {
	tests := []struct {
		name, expr, pos, msg string
	}{
		{"sprintf width", `sprintf("%0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d%[1]0999999d", [1])`,
			"policies/p.rego:5:9", "sprintf: the result would be up to"},
		{"sprintf repeated argument", `sprintf(concat("", [s | some _ in numbers.range(1, 20000); s := "%[1]s"]), [concat("", [s | some _ in numbers.range(1, 2000); s := "xxxxxxxxxx"])])`,
			"policies/p.rego:5:9", "sprintf: the result would be up to"},
		{"bits.lsh", `sprintf("%d", [bits.lsh(1, 1000000000000)])`, "policies/p.rego:5:24", "bits.lsh: the result would be up to"},
		{"squaring", `count(sprintf("%d", [x])) if { x0 := 99999999999999999999; x1 := x0 * x0; x2 := x1 * x1; x3 := x2 * x2; x4 := x3 * x3; x5 := x4 * x4; x6 := x5 * x5; x7 := x6 * x6; x8 := x7 * x7; x9 := x8 * x8; x10 := x9 * x9; x11 := x10 * x10; x12 := x11 * x11; x13 := x12 * x12; x14 := x13 * x13; x15 := x14 * x14; x16 := x15 * x15; x := x16 }`, "policies/p.rego:8:", "mul: the result would be up to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy := "package fleetc.p\n\ndeny_x contains msg if {\n\tinput.app.id != \"\"\n\tmsg := " + tc.expr + "\n}\n"
			if strings.Contains(tc.expr, " if {") {
				policy = "package fleetc.p\n\ndeny_x contains msg if {\n\tinput.app.id != \"\"\n\tmsg := f\n}\n\nf := " + tc.expr + "\n"
			}
			err := decideOne(t, policy, Budget{})
			var ee *EvalError
			if !errors.As(err, &ee) || IsBudget(err) {
				t.Fatalf("want a builtin error, got %v", err)
			}
			if !strings.HasPrefix(ee.Pos.String(), tc.pos) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "over fleetc's limit") {
				t.Errorf("got %s: %v; want %s containing %q", ee.Pos, err, tc.pos, tc.msg)
			}
		})
	}
}

// TestRenderTemplateSandboxed: strings.render_template is not offered.
func TestRenderTemplateSandboxed(t *testing.T) {
	root := writeRoot(t, map[string]string{"policies/p.rego": "package fleetc.p\n\nwarn_x contains msg if msg := strings.render_template(\"{{.a}}\", {\"a\": 1})\n"})
	e, diags, err := Load(context.Background(), Options{Root: root})
	if err != nil || e != nil || len(diags) == 0 {
		t.Fatalf("want diagnostics, got engine %v, %v, %v", e != nil, diags, err)
	}
	if d := diags[0]; d.Code != "policy-sandbox" || !strings.Contains(d.Message, "cannot be interrupted by the policy budget") || d.Pos.String() != "policies/p.rego:3:31" {
		t.Errorf("got %s [%s] %s", d.Pos, d.Code, d.Message)
	}
}
