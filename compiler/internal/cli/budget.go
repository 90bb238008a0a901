package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// budgetFlags set the policy budget of compile, plan and explain.
type budgetFlags struct {
	time   time.Duration
	memory string
}

func (f *budgetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.time, "policy-time-budget", policy.DefaultTimeBudget, "wall time the policies may take to decide every change of the compile; over it the compile fails closed (must be positive: the budget cannot be switched off)")
	fl.StringVar(&f.memory, "policy-memory-budget", "2GiB", "how far the heap may grow while the policies decide (e.g. 512MiB, 4GiB); over it the compile fails closed (must be positive: the budget cannot be switched off)")
}

func (f *budgetFlags) budget() (policy.Budget, error) {
	if f.time <= 0 {
		return policy.Budget{}, usagef("--policy-time-budget %s: must be positive; the budget cannot be switched off, raise it instead", f.time)
	}
	mem, err := parseBytes(f.memory)
	if err != nil || mem <= 0 {
		return policy.Budget{}, usagef("--policy-memory-budget %q: want a positive size such as 512MiB or 2GiB; the budget cannot be switched off, raise it instead", f.memory)
	}
	return policy.Budget{Time: f.time, Memory: mem}, nil
}

// parseBytes reads a size: an integer with an optional unit B, KiB, MiB,
// GiB (or KB, MB, GB, also powers of 1024).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"GB", 30}, {"G", 30}, {"MiB", 20}, {"MB", 20}, {"M", 20}, {"KiB", 10}, {"KB", 10}, {"K", 10}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<62)>>shift {
		return 0, strconv.ErrRange
	}
	return n << shift, nil
}
