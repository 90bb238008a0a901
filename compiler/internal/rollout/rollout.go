package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Options are the stage's inputs; the result is a pure function of them.
type Options struct {
	Targets  *target.Result
	Previous *deploy.State
	Feedback *Snapshot // nil: no evidence, no ring beyond the first opens
	Now      time.Time
}

// Result is each app's rollout after this compile and what it holds.
type Result struct {
	// Rollouts is what state.json records, by app.
	Rollouts map[string]*deploy.Rollout
	// Apps is each app's ring progress, in app order (plan, MR body).
	Apps []AppStatus
	// holds: app -> ring -> why the ring does not get the target yet.
	holds map[string]map[string]*Hold
}

// AppStatus is one app's rollout, ring by ring.
type AppStatus struct {
	App     string       `json:"app"`
	Target  string       `json:"target"`
	Halted  *deploy.Halt `json:"halted,omitempty"`
	Rings   []RingStatus `json:"rings"`
	Started time.Time    `json:"started"`
}

// RingStatus is one ring's evidence for the target.
type RingStatus struct {
	Ring string `json:"ring"`
	// Open: the ring may run the target.
	Open bool `json:"open"`
	// Stores that target the app at the rollout's version in this ring;
	// Received of them ran it before this compile (the denominator);
	// Ready, Failing, Offline and Pending split Received by the snapshot.
	Stores   int `json:"stores"`
	Received int `json:"received"`
	Ready    int `json:"ready"`
	Failing  int `json:"failing"`
	Offline  int `json:"offline"`
	Pending  int `json:"pending"`
	// Met is when the gate was first met; Baked how long since, BakeTime
	// what the ring asks.
	Met      *time.Time    `json:"met,omitempty"`
	Baked    time.Duration `json:"baked_ns"`
	BakeTime time.Duration `json:"bakeTime_ns"`
	// Gate is what keeps the next ring closed ("" when it may open).
	Gate string `json:"gate,omitempty"`
	// Failures lists "store: reason" of the failing stores, sorted.
	Failures []string `json:"failures,omitempty"`
	// OpensAt is when a closed ring opens if health holds (nil: unknown).
	OpensAt *time.Time `json:"opensAt,omitempty"`
}

// Hold is why an (app, ring) does not get the target yet.
type Hold struct {
	Target string
	Msg    string
	Until  *time.Time
	Pos    diag.Pos // the ring whose gate holds it, in CUE
}

// Hold reports whether a change of app in ring to version is held by the
// rollout, why, and until when (nil: not known).
func (r *Result) Hold(app, ring, version string) (*Hold, bool) {
	if r == nil {
		return nil, false
	}
	h := r.holds[app][ring]
	if h == nil || h.Target != version {
		return nil, false
	}
	return h, true
}

// Summary is the stage's progress line: "7 apps, 3 rings held".
func (r *Result) Summary() string {
	held := 0
	for _, h := range r.holds {
		held += len(h)
	}
	rings := "rings"
	if held == 1 {
		rings = "ring"
	}
	return fmt.Sprintf("%d apps, %d %s held", len(r.Apps), held, rings)
}

// HoldFunc is Hold in the shape gate.Options.Hold takes.
func (r *Result) HoldFunc() func(app, ring, version string) (policy.Reason, *time.Time, bool) {
	return func(app, ring, version string) (policy.Reason, *time.Time, bool) {
		h, ok := r.Hold(app, ring, version)
		if !ok {
			return policy.Reason{}, nil, false
		}
		return policy.Reason{Rule: RuleRollout, Verdict: policy.Defer, Msg: h.Msg, Pos: h.Pos}, h.Until, true
	}
}

// RuleRollout names the rollout's holds in decisions.jsonl and the plan.
const RuleRollout = "fleetc.rollout"

// ringStores is one ring's stores for one app.
type ringStores struct {
	ring     *model.Ring
	stores   []string // target the app at the rollout version
	received []string // of them, ran their target variant before
}

// Run computes every app's rollout.
func Run(opts Options) *Result {
	t := opts.Targets
	fleet := t.Fleet
	now := opts.Now.UTC().Truncate(time.Second)
	res := &Result{Rollouts: map[string]*deploy.Rollout{}, holds: map[string]map[string]*Hold{}}
	prev := opts.Previous
	if prev == nil {
		prev = deploy.NewState()
	}
	ringIdx := make(map[string]int, len(fleet.Rings))
	for i, r := range fleet.Rings {
		ringIdx[r.Name] = i
	}
	// Per app: its stores by ring and the variants they target.
	type appStores struct {
		rings    []ringStores
		variants map[string]bool
	}
	byApp := map[string]*appStores{}
	for i := range t.Stores {
		st := &t.Stores[i]
		k, ok := ringIdx[st.Ring]
		if !ok {
			continue
		}
		var prevApps map[string]string
		if ps := prev.Stores[st.Store.ID]; ps != nil {
			prevApps = ps.Apps
		}
		for _, a := range st.Apps {
			if a.VersionFrom != "app" {
				continue // a ring pin is not part of the rollout
			}
			as := byApp[a.App.ID]
			if as == nil {
				as = &appStores{rings: make([]ringStores, len(fleet.Rings)), variants: map[string]bool{}}
				for j, r := range fleet.Rings {
					as.rings[j].ring = r
				}
				byApp[a.App.ID] = as
			}
			rs := &as.rings[k]
			rs.stores = append(rs.stores, st.Store.ID)
			as.variants[a.Variant.ID] = true
			if prevApps[a.App.ID] == a.Variant.ID {
				rs.received = append(rs.received, st.Store.ID)
			}
		}
	}
	for _, app := range fleet.Apps {
		as := byApp[app.ID]
		if as == nil {
			continue
		}
		ro := nextRollout(prev.Rollouts[app.ID], app, revision(app.Version, as.variants), as.rings, now)
		status := AppStatus{App: app.ID, Target: ro.Target, Started: ro.Started}
		holds := map[string]*Hold{}
		var blocked string // the first ring that stays closed, and why
		for k := range as.rings {
			rs := &as.rings[k]
			rr := &ro.Rings[k]
			if rr.Opened == nil && k == 0 {
				rr.Opened = &now // ring 0 opens with the walk (a state edited by hand may say otherwise)
			}
			if rr.Opened == nil {
				// Ring k waits for ring k-1.
				before := &status.Rings[k-1]
				if ro.Halted == nil && before.Gate == "" && blocked == "" {
					rr.Opened = &now
				} else {
					var msg string
					switch {
					case ro.Halted != nil:
						msg = fmt.Sprintf("rollout of %s halted in %s: %s", ro.Target, ro.Halted.Ring, ro.Halted.Reason)
					case blocked == "":
						msg = fmt.Sprintf("rollout of %s: %s waits for %s: %s", ro.Target, rs.ring.Name, before.Ring, before.Gate)
						blocked = msg
					default:
						msg = blocked
					}
					holds[rs.ring.Name] = &Hold{Target: ro.Target, Msg: msg, Until: before.OpensAt, Pos: as.rings[k-1].ring.Pos}
					status.Rings = append(status.Rings, RingStatus{Ring: rs.ring.Name, Stores: len(rs.stores), BakeTime: rs.ring.BakeTime.Std(),
						Gate: "waits for " + before.Ring})
					continue
				}
			}
			rstat := evaluate(app.ID, rs, rr, ro, opts.Feedback, fleet.Settings.Rollout, now)
			status.Rings = append(status.Rings, rstat)
		}
		status.Halted = ro.Halted
		res.Rollouts[app.ID] = ro
		res.Apps = append(res.Apps, status)
		if len(holds) > 0 {
			res.holds[app.ID] = holds
		}
	}
	return res
}

// revision hashes the version and the variants stores receive with it.
func revision(version string, variants map[string]bool) string {
	ids := make([]string, 0, len(variants))
	for id := range variants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.New()
	h.Write([]byte(version))
	for _, id := range ids {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// nextRollout continues prev when it walks the same revision, else starts
// a new walk: ring 0 opens, and so does every ring whose stores all run
// their target already (nothing there to hold: a fleet that adopts fleetc
// with its versions in place, an app whose values changed elsewhere).
// A ring's last-known-good is the last target that met its gate.
func nextRollout(prev *deploy.Rollout, app *model.App, rev string, rings []ringStores, now time.Time) *deploy.Rollout {
	if prev != nil && prev.Revision == rev && prev.Target == app.Version && sameRings(prev, rings) {
		ro := *prev
		ro.Rings = slices.Clone(prev.Rings)
		if prev.Halted != nil {
			h := *prev.Halted
			ro.Halted = &h
		}
		return &ro
	}
	ro := &deploy.Rollout{Target: app.Version, Revision: rev, Started: now, Rings: make([]deploy.RingRollout, len(rings))}
	for k, rs := range rings {
		rr := &ro.Rings[k]
		rr.Ring = rs.ring.Name
		if prev != nil {
			for _, p := range prev.Rings {
				if p.Ring == rr.Ring {
					rr.LastKnownGood = p.LastKnownGood
					if p.Met != nil {
						rr.LastKnownGood = prev.Target
					}
				}
			}
		}
		if k == 0 || len(rs.received) == len(rs.stores) {
			rr.Opened = &now
		}
	}
	return ro
}

func sameRings(prev *deploy.Rollout, rings []ringStores) bool {
	if len(prev.Rings) != len(rings) {
		return false
	}
	for k := range rings {
		if prev.Rings[k].Ring != rings[k].ring.Name {
			return false
		}
	}
	return true
}

// evaluate reads ring k's evidence and updates its Met and the rollout's
// halt. Gate in the result is "" when the next ring may open.
func evaluate(app string, rs *ringStores, rr *deploy.RingRollout, ro *deploy.Rollout, snap *Snapshot, set model.RolloutSettings, now time.Time) RingStatus {
	st := RingStatus{Ring: rs.ring.Name, Open: true, Stores: len(rs.stores), Received: len(rs.received), BakeTime: rs.ring.BakeTime.Std()}
	if len(rs.stores) == 0 {
		return st // no store of this ring runs the app: nothing to wait for
	}
	name, target := rs.ring.Name, ro.Target
	if len(rs.received) == 0 {
		st.Gate = fmt.Sprintf("no store in %s ran %s before this compile (its %d receive it now, or when their window, freeze or sign-off allows)", name, target, len(rs.stores))
		return st
	}
	if snap == nil {
		st.Gate = fmt.Sprintf("no feedback on %s in %s (compile --feedback FILE)", target, name)
		return st
	}
	stale := set.StaleAfter.Std()
	var readySince time.Time // the latest "Ready since" among Ready stores
	sinceKnown := true
	for _, id := range rs.received {
		r := snap.Stores[id]
		if r == nil || (stale > 0 && now.Sub(r.ReportedAt) > stale) {
			st.Offline++
			continue
		}
		a := r.Apps[app]
		switch {
		case a == nil || a.Version != target:
			st.Pending++
		case a.Ready == "true":
			st.Ready++
			if a.Since == nil {
				sinceKnown = false
			} else if a.Since.After(readySince) {
				readySince = *a.Since
			}
		case a.Ready == "false":
			st.Failing++
			msg := a.Reason
			if a.Message != "" {
				msg = strings.TrimSpace(msg + ": " + a.Message)
			}
			if msg == "" {
				msg = "not Ready"
			}
			st.Failures = append(st.Failures, id+": "+msg)
		default:
			st.Pending++
		}
	}
	slices.Sort(st.Failures)
	if st.Failing > rs.ring.FailureBudget {
		if ro.Halted == nil {
			ro.Halted = &deploy.Halt{Ring: name, At: now, Failing: st.Failures,
				Reason: fmt.Sprintf("%d failing stores exceed the failure budget of %d", st.Failing, rs.ring.FailureBudget)}
		}
		st.Gate = fmt.Sprintf("halted: %d failing stores in %s exceed its failure budget of %d", st.Failing, name, rs.ring.FailureBudget)
		return st
	}
	reporting := len(rs.received) - st.Offline
	if cov := float64(reporting) / float64(len(rs.received)); cov < set.MinCoverage {
		st.Gate = fmt.Sprintf("%d of %d stores in %s report (%.0f%%), below the %.0f%% coverage floor; %d offline", reporting, len(rs.received), name, 100*cov, 100*set.MinCoverage, st.Offline)
		return st
	}
	need := int(math.Ceil(rs.ring.SuccessThreshold * float64(len(rs.received))))
	if st.Ready < need || st.Ready == 0 {
		st.Gate = fmt.Sprintf("%d of %d stores in %s Ready at %s, %d needed (successThreshold %g)", st.Ready, len(rs.received), name, target, max(need, 1), rs.ring.SuccessThreshold)
		return st
	}
	if rr.Met == nil {
		if !sinceKnown {
			readySince = now
		}
		met := metAt(readySince, rr.Opened, now)
		rr.Met = &met
	}
	rr.LastKnownGood = target
	st.Met = rr.Met
	st.Baked = now.Sub(*rr.Met)
	if st.Baked < st.BakeTime {
		opens := rr.Met.Add(st.BakeTime)
		st.OpensAt = &opens
		st.Gate = fmt.Sprintf("%s baked %s of %s (%d of %d Ready)", name, short(st.Baked), short(st.BakeTime), st.Ready, len(rs.received))
	}
	return st
}

func short(d time.Duration) string {
	if d < time.Minute {
		return "0m"
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// metAt is when a ring met its gate: when its last store became Ready, as
// the stores report it, but not before the ring was opened to the target
// (an older Ready is about the version before) and not after now.
func metAt(readySince time.Time, opened *time.Time, now time.Time) time.Time {
	t := readySince
	if opened != nil && t.Before(*opened) {
		t = *opened
	}
	if t.After(now) {
		t = now
	}
	return t.UTC().Truncate(time.Second)
}
