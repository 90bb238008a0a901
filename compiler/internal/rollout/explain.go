package rollout

import (
	"fmt"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// LastHold answers for fleetc explain, which reads one store: whether the
// rollout holds a change of app in ring to version, as the last compile
// left the rollouts in state.json. A version the last compile already
// walked is held in each ring it had not opened (or halted); a new version
// starts in the first ring. A compile with new feedback may open more.
// Ring pins (a version other than the app's) are not held, as in Run.
func LastHold(rollouts map[string]*deploy.Rollout, fleet *model.Fleet) func(app, ring, version string) (policy.Reason, *time.Time, bool) {
	rings := fleet.Rings
	return func(app, ring, version string) (policy.Reason, *time.Time, bool) {
		if a := fleet.AppByID[app]; a == nil || a.Version != version || len(rings) == 0 || ring == rings[0].Name {
			return policy.Reason{}, nil, false
		}
		var pos, first = rings[0].Pos, rings[0].Name
		for k, r := range rings {
			if r.Name == ring && k > 0 {
				pos = rings[k-1].Pos
			}
		}
		held := func(msg string) (policy.Reason, *time.Time, bool) {
			return policy.Reason{Rule: RuleRollout, Verdict: policy.Defer, Msg: msg, Pos: pos}, nil, true
		}
		ro := rollouts[app]
		if ro == nil || ro.Target != version {
			return held(fmt.Sprintf("rollout of %s starts in %s: %s opens when the rings before it meet their gates (docs/rollout.md)", version, first, ring))
		}
		if ro.Halted != nil {
			return held(fmt.Sprintf("rollout of %s halted in %s: %s", version, ro.Halted.Ring, ro.Halted.Reason))
		}
		for _, rr := range ro.Rings {
			if rr.Ring == ring {
				if rr.Opened != nil {
					return policy.Reason{}, nil, false
				}
				return held(fmt.Sprintf("rollout of %s: %s is not open yet as of the last compile (state.json); it opens when the ring before it meets its gate", version, ring))
			}
		}
		return held(fmt.Sprintf("rollout of %s: %s is not in the last compile's rollout", version, ring))
	}
}
