package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// forbidden reports whether a builtin is removed from fleetc's sandbox:
// anything that reaches the network, the runtime environment or
// randomness, and builtins whose one call can build a result without
// bound that the budget cannot interrupt (unbounded). time.now_ns stays;
// Decide pins it to --now.
func forbidden(name string) bool {
	switch name {
	case "http.send", "opa.runtime", "rand.intn", "uuid.rfc4122", "trace.span":
		return true
	}
	if unbounded(name) {
		return true
	}
	return strings.HasPrefix(name, "net.")
}

// capabilities is OPA's current capability set without the forbidden
// builtins and with no network host allowed.
func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	c.Builtins = slices.DeleteFunc(slices.Clone(c.Builtins), func(b *ast.Builtin) bool { return forbidden(b.Name) })
	c.AllowNet = []string{}
	return c
}

// sandboxMessage rewrites OPA's "undefined function http.send" into a
// message that says why, or returns "" for other errors.
func sandboxMessage(e *ast.Error) string {
	const prefix = "undefined function "
	i := strings.Index(e.Message, prefix)
	if i < 0 {
		return ""
	}
	name := strings.TrimSpace(e.Message[i+len(prefix):])
	if !forbidden(name) {
		return ""
	}
	if unbounded(name) {
		return name + " is not allowed in fleetc policies: one call can build an output of any size (its template loops over its input) and cannot be interrupted by the policy budget; build the message with sprintf or concat"
	}
	return name + " is not allowed in fleetc policies: the sandbox removes builtins that reach the network, the runtime or randomness, so decisions depend only on the input"
}

// unbounded: builtins removed because a single call's work has no bound
// fleetc can check beforehand (see bounded.go for those it bounds).
func unbounded(name string) bool { return name == "strings.render_template" }
