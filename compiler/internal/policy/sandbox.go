package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// forbidden reports whether a builtin is removed from fleetc's sandbox:
// anything that reaches the network, the runtime environment or
// randomness. time.now_ns stays; Decide pins it to --now.
func forbidden(name string) bool {
	switch name {
	case "http.send", "opa.runtime", "rand.intn", "uuid.rfc4122", "trace.span":
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
	return name + " is not allowed in fleetc policies: the sandbox removes builtins that reach the network, the runtime or randomness, so decisions depend only on the input"
}
