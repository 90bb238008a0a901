package policy

import (
	"fmt"
	"math"
	"math/big"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// OPA checks for cancellation between expressions, inside numbers.range
// and while concat, replace, strings.replace_n and regex.replace write
// their result, so the budget (budget.go) stops those. A few builtins
// build their whole result in one Go call that nothing interrupts, and
// from small arguments: sprintf (a width of up to 10^6 per verb, an
// argument repeated by %[1]s), bits.lsh (2^n from two small numbers) and
// multiplication of big integers (digits add up; squaring doubles them).
// fleetc replaces them by the same builtins with a size check first: a
// call whose result would exceed the bound below is a builtin error at
// the call's position, and fails the compile closed like any other.
// strings.render_template runs a template with loops over its input and
// is removed from the sandbox instead (sandbox.go).
const (
	// MaxBuiltinResult bounds the result of sprintf and bits.lsh, bytes.
	MaxBuiltinResult = 16 << 20
	// MaxProductDigits bounds the digits of a product of two integers.
	MaxProductDigits = 1 << 20
)

var boundOnce sync.Once

// boundBuiltins installs the size checks. OPA dispatches its own builtins
// through one process-wide table, so they apply to every evaluation in
// the process: the gate's and `fleetc policy test`'s alike.
func boundBuiltins() {
	boundOnce.Do(func() {
		bound(ast.Sprintf.Name, sprintfSize)
		bound(ast.BitsShiftLeft.Name, lshSize)
		bound(ast.Multiply.Name, mulSize)
	})
}

// bound wraps the builtin name with a check of its operands; size returns
// the largest result the call can make and the unit it is counted in, or
// 0 when it cannot tell (the builtin then reports its own operand error).
func bound(name string, size func(ops []*ast.Term) (n int64, limit int64, unit string)) {
	orig := topdown.GetBuiltin(name)
	if orig == nil {
		panic("policy: no OPA builtin " + name)
	}
	topdown.RegisterBuiltinFunc(name, func(bctx topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
		if n, limit, unit := size(ops); n > limit {
			return fmt.Errorf("the result would be up to %d %s, over fleetc's limit of %d for one call (policies must not build huge values)", n, unit, limit)
		}
		return orig(bctx, ops, iter)
	})
}

// sprintfSize bounds fmt.Sprintf: the format's bytes plus, per verb, the
// largest width or precision it names (or 10^6, fmt's own limit, for a
// *) and the longest argument as sprintf prints it.
func sprintfSize(ops []*ast.Term) (int64, int64, string) {
	format, ok := ops[0].Value.(ast.String)
	arr, ok2 := ops[1].Value.(*ast.Array)
	if !ok || !ok2 {
		return 0, MaxBuiltinResult, "bytes"
	}
	verbs, widest := int64(0), int64(0)
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		verbs++
		for i++; i < len(format); i++ {
			c := format[i]
			switch {
			case c >= '0' && c <= '9':
				n := int64(0)
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					if n < 1<<40 {
						n = n*10 + int64(format[i]-'0')
					}
				}
				i--
				widest = max(widest, n)
				continue
			case c == '*':
				widest = max(widest, 1_000_000)
				continue
			case c == '.' || c == '[' || c == ']' || c == '+' || c == '-' || c == '#' || c == ' ':
				continue
			}
			break
		}
	}
	if verbs == 0 {
		return int64(len(format)), MaxBuiltinResult, "bytes"
	}
	longest := int64(0)
	for i := range arr.Len() {
		switch v := arr.Elem(i).Value.(type) {
		case ast.String:
			longest = max(longest, int64(len(v))+2) // %q adds quotes
		case ast.Number:
			longest = max(longest, int64(len(v))+2)
		default:
			longest = max(longest, int64(len(v.String())))
		}
	}
	// %q may escape every byte of a string (\x00: four bytes each).
	return int64(len(format)) + verbs*(widest+4*longest), MaxBuiltinResult, "bytes"
}

// lshSize is the bytes of x << s.
func lshSize(ops []*ast.Term) (int64, int64, string) {
	x, ok := ops[0].Value.(ast.Number)
	s, ok2 := ops[1].Value.(ast.Number)
	if !ok || !ok2 {
		return 0, MaxBuiltinResult, "bytes"
	}
	shift, ok := new(big.Int).SetString(string(s), 10)
	if !ok || shift.Sign() < 0 {
		return 0, MaxBuiltinResult, "bytes"
	}
	if !shift.IsInt64() || shift.Int64() > math.MaxInt64/2 {
		return math.MaxInt64, MaxBuiltinResult, "bytes"
	}
	return (int64(len(x))*4 + shift.Int64() + 7) / 8, MaxBuiltinResult, "bytes"
}

// mulSize is the digits of x * y (an upper bound for decimals too).
func mulSize(ops []*ast.Term) (int64, int64, string) {
	x, ok := ops[0].Value.(ast.Number)
	y, ok2 := ops[1].Value.(ast.Number)
	if !ok || !ok2 {
		return 0, MaxProductDigits, "digits"
	}
	return int64(len(x) + len(y)), MaxProductDigits, "digits"
}
