package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// TestLoadDiagnostics: policies that do not compile give diagnostics at
// their file:line:col and no engine.
func TestLoadDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		pos   string
		code  string
		msg   string
	}{
		{"syntax error", map[string]string{"policies/a.rego": "package fleetc.a\n\ndeny_x contains msg if {\n\tmsg := \n}\n"},
			"policies/a.rego:5:1", "policy-compile", ""},
		{"http.send is sandboxed", map[string]string{"policies/net.rego": "package fleetc.net\n\ndeny_x contains msg if {\n\tresp := http.send({\"method\": \"get\", \"url\": \"https://example.com\"})\n\tmsg := resp.body\n}\n"},
			"policies/net.rego:4:10", "policy-sandbox", "http.send is not allowed in fleetc policies"},
		{"opa.runtime is sandboxed", map[string]string{"policies/rt.rego": "package fleetc.rt\n\nwarn_env contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n"},
			"policies/rt.rego:4:9", "policy-sandbox", "opa.runtime is not allowed"},
		{"rand.intn is sandboxed", map[string]string{"policies/r.rego": "package fleetc.r\n\ndefer_x contains \"coin\" if rand.intn(\"x\", 2) == 0\n"},
			"policies/r.rego:3:28", "policy-sandbox", "rand.intn is not allowed"},
		{"deny rule not a set", map[string]string{"policies/c.rego": "package fleetc.c\n\ndeny_x := \"no\" if input.app.id == \"a\"\n"},
			"policies/c.rego:3:1", "policy-rule", "deny_x must be a partial set rule"},
		{"unknown function", map[string]string{"policies/u.rego": "package fleetc.u\n\nwarn_x contains msg if msg := nope(1)\n"},
			"policies/u.rego:3:31", "policy-compile", "undefined function nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.files)
			e, diags, err := Load(context.Background(), Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if e != nil {
				t.Fatal("want no engine")
			}
			if len(diags) == 0 {
				t.Fatal("want diagnostics")
			}
			d := diags[0]
			if d.Pos.String() != tc.pos || d.Code != tc.code || !strings.Contains(d.Message, tc.msg) {
				t.Errorf("got %s [%s] %s; want %s [%s] containing %q", d.Pos, d.Code, d.Message, tc.pos, tc.code, tc.msg)
			}
		})
	}
}

// TestLoadSources: only policies/ is read, tests are left out of the
// decision bundle, and the embedded bundle is the fallback.
func TestLoadSources(t *testing.T) {
	root := writeRoot(t, map[string]string{
		"policies/a.rego":       "package fleetc.a\n\ndeny_x contains \"x\" if input.app.id == \"x\"\n",
		"policies/a_test.rego":  "package fleetc.a_test\n\nthis is not rego\n",
		"policies/sub/b.rego":   "package fleetc.b\n\nwarn_y contains \"y\" if input.app.id == \"y\"\n",
		"elsewhere/broken.rego": "package fleetc.z\n\nnot rego at all\n",
		"policies/notes.md":     "# not a policy\n",
		"inventory/stores.rego": "package fleetc.inv\n\ndeny_all contains \"all\"\n",
	})
	e := mustLoad(t, root)
	var ids []string
	for _, r := range e.Rules() {
		ids = append(ids, r.ID+"@"+r.Pos.String())
	}
	want := "a.deny_x@policies/a.rego:3:1 b.warn_y@policies/sub/b.rego:3:1"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("rules %q, want %q", got, want)
	}
	if e.Embedded() {
		t.Error("engine says embedded for a repository with policies/")
	}
	if e2 := mustLoad(t, t.TempDir()); !e2.Embedded() || len(e2.Rules()) != 9 {
		t.Errorf("no policies/ should load the 9 embedded rules, got embedded=%v %d", e2.Embedded(), len(e2.Rules()))
	}
}

// TestDecideFailsClosed: every way a policy can misbehave at run time
// makes Decide return an error naming the rule and its position.
func TestDecideFailsClosed(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		rule   string
		pos    string
		msg    string
	}{
		{"conflicting complete rule", `package fleetc.p

level := "low" if input.app.id != ""

level := "high" if input.change.kind != ""

deny_x contains level if level == "high"
`, "p.level", "policies/p.rego:5:1", "eval_conflict_error"},
		{"builtin error is strict", `package fleetc.p

deny_x contains msg if {
	to_number(input.app.id) > 1
	msg := "n"
}
`, "p.deny_x", "policies/p.rego:4:2", "eval_builtin_error"},
		{"divide by zero", `package fleetc.p

deny_x contains msg if {
	n := count(input.app.id) - 3
	msg := sprintf("%v", [10 / n])
}
`, "p.deny_x", "policies/p.rego:5:24", "divide by zero"},
		{"type error in a builtin", `package fleetc.p

warn_x contains msg if {
	msg := sprintf("%d", [sum(input.app.id)])
}
`, "p.warn_x", "policies/p.rego:4:24", "eval_type_error"},
		{"message is a number", `package fleetc.p

deny_x contains 42 if input.app.id != ""
`, "p.deny_x", "policies/p.rego:3:1", "want a string or an object"},
		{"object without msg", `package fleetc.p

defer_x contains {"message": "later"} if input.app.id != ""
`, "p.defer_x", "policies/p.rego:3:1", `has no string "msg"`},
		{"signoff without teams", `package fleetc.p

signoff_x contains "someone should look" if input.app.id != ""
`, "p.signoff_x", "policies/p.rego:3:1", `must be an object with "teams"`},
		{"until is not a time", `package fleetc.p

defer_x contains {"msg": "later", "until": "tomorrow"} if input.app.id != ""
`, "p.defer_x", "policies/p.rego:3:1", "until"},
		{"unknown message field", `package fleetc.p

warn_x contains {"msg": "m", "severity": 3} if input.app.id != ""
`, "p.warn_x", "policies/p.rego:3:1", `unknown field "severity"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustLoad(t, writeRoot(t, map[string]string{"policies/p.rego": tc.policy}))
			in := Input{App: &model.App{ID: "pos"}, Change: Change{To: "1.0.0", Kind: Install}}
			ds, err := e.Decide(context.Background(), []Input{in, in}, EvalOptions{Now: time.Unix(0, 0)})
			if err == nil {
				t.Fatalf("want an error, got %+v", ds)
			}
			if ds != nil {
				t.Error("decisions returned with an error")
			}
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *EvalError", err)
			}
			if ee.Rule != tc.rule || ee.Pos.String() != tc.pos || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got rule %q at %s: %v; want rule %q at %s containing %q", ee.Rule, ee.Pos, err, tc.rule, tc.pos, tc.msg)
			}
		})
	}
}

// TestTimePinned: time.now_ns() is EvalOptions.Now.
func TestTimePinned(t *testing.T) {
	e := mustLoad(t, writeRoot(t, map[string]string{"policies/t.rego": `package fleetc.t

warn_now contains sprintf("%d", [time.now_ns()])

warn_input_now contains input.now
`}))
	now := utc("2026-11-26T06:00:00Z")
	ds, err := e.Decide(context.Background(), []Input{{}}, EvalOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range ds[0].Reasons {
		msgs = append(msgs, r.Msg)
	}
	want := "2026-11-26T06:00:00Z 1795672800000000000" // t.warn_input_now sorts first
	if got := strings.Join(msgs, " "); got != want || ds[0].Verdict != Allow {
		t.Errorf("got %q (%s), want %q", got, ds[0].Verdict, want)
	}
}
