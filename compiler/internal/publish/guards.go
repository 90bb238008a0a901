package publish

import (
	"github.com/fleetc/fleetc/compiler/internal/guard"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// guards writes, first in the body, the halts in force or lifted and a
// mass change let through (docs/guards.md): the fleet-level records of
// decisions.jsonl.
func (r *Report) guards(w *bodyWriter) {
	wrote := false
	for i := range r.Decisions {
		d := &r.Decisions[i]
		if d.Store != "" || (d.Kind != guard.KindHalt && d.Kind != guard.KindMassChange) || len(d.Reasons) == 0 {
			continue
		}
		label := "**Line stopped:**"
		switch {
		case d.Kind == guard.KindMassChange:
			label = "**Mass change:**"
		case d.Verdict != policy.Defer:
			label = "**Halt lifted:**"
		}
		if d.Verdict == policy.NeedsSignoff {
			label += " _(waits for sign-off)_"
		}
		w.f("> %s %s\n", label, cell(d.Reasons[0].Msg))
		wrote = true
	}
	if wrote {
		w.f("\n")
	}
}
