// Package hold is the store's side of window enforcement: it opens and
// closes the store's window gate, the Flux Kustomization fleetc-window
// that every app Kustomization depends on when the fleet sets
// settings.agent.enforceWindows (docs/agent.md, "Window enforcement").
//
// Flux applies a dependant at a revision of the deploy repository only
// after its dependency has applied that revision; a suspended gate applies
// nothing, so a revision that arrives outside the store's window waits.
// The agent keeps no state of its own: each cycle it reads the store's
// ConfigMap (window, freezes, changes let through outside the window) and
// the clock, decides, and patches spec.suspend of that one object when it
// differs. A restart in the middle of a window resumes the gate at its
// first cycle; a crashed agent leaves the gate as it was (fail closed
// outside the window, nothing held inside it).
package hold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/agent/internal/kube"
	"github.com/fleetc/fleetc/internal/window"
)

// Names fleetc renders (compiler/internal/render).
const (
	GateName    = window.GateName
	ConfigMap   = "fleetc-store"
	VarWindow   = window.VarWindow
	VarTimezone = "FLEETC_TIMEZONE_RAW"
	VarFreezes  = window.VarFreezes
	VarUnheld   = window.VarUnheld

	labelApp     = "fleetc.dev/app"
	labelVariant = "fleetc.dev/variant"
	// annoRequested asks Flux to reconcile now (what `flux reconcile` sets).
	annoRequested = "reconcile.fluxcd.io/requestedAt"
)

// API is what the gate needs from the API server.
type API interface {
	Get(ctx context.Context, path string, out any) error
	List(ctx context.Context, path string, out any) error
	MergePatch(ctx context.Context, path string, patch []byte, out any) error
}

// Result is one cycle's decision.
type Result struct {
	// Enforced: the store's ConfigMap carries a window (the fleet sets
	// enforceWindows) and the gate exists. When false nothing was changed.
	Enforced bool
	Open     bool   // the gate should be open (not suspended)
	Why      string // the decision in words, for the log
	Changed  bool   // the agent patched spec.suspend this cycle
	// Released lists the app@variant changes let through outside the
	// window that are not applied yet (they keep the gate open);
	// RideAlong the other app Kustomizations waiting at the same time
	// (the gate is per store: they go through with them).
	Released, RideAlong []string
	// Next is when the decision changes by the clock alone (the window
	// opens or closes, a freeze starts or ends); zero when never.
	Next time.Time
}

type object struct {
	Metadata struct {
		Name        string            `json:"name"`
		Generation  int64             `json:"generation"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Suspend   bool         `json:"suspend"`
		DependsOn []dependency `json:"dependsOn"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		Conditions         []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
	Data map[string]string `json:"data"` // ConfigMap
}

// waiting: the app Kustomization holds a spec it has not applied yet
// (Flux moves observedGeneration only on success) and is held by the gate
// (DependencyNotReady on fleetc-window). A new revision of an unchanged
// spec also waits for the gate, but is not a change of this app; a spec
// that was applied and then failed is not waiting for the gate.
func (o *object) waiting() bool {
	if o.Status.ObservedGeneration == o.Metadata.Generation {
		return false
	}
	for _, c := range o.Status.Conditions {
		if c.Type == "Ready" {
			return window.HeldByGate(c.Status, c.Reason, c.Message)
		}
	}
	return false
}

type dependency struct {
	Name string `json:"name"`
}

func (o *object) waitsForGate() bool {
	return slices.Contains(o.Spec.DependsOn, dependency{Name: GateName})
}

// Sync decides whether the gate in namespace ns is open at now and makes
// spec.suspend say so. An error leaves the gate as it was; a ConfigMap
// whose window does not parse closes the gate (fail closed) and is
// returned as an error after the gate is closed.
func Sync(ctx context.Context, api API, ns string, now time.Time) (Result, error) {
	var cm object
	err := api.Get(ctx, "/api/v1/namespaces/"+ns+"/configmaps/"+ConfigMap, &cm)
	var se *kube.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return Result{Why: "no " + ns + "/" + ConfigMap + " ConfigMap: the store has not applied a fleetc tree"}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("read the store's ConfigMap: %w", err)
	}
	text, ok := cm.Data[VarWindow]
	if !ok {
		return Result{Why: "the fleet does not enforce windows at the store (no " + VarWindow + ")"}, nil
	}
	gatePath := "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/" + ns + "/kustomizations/" + GateName
	var gate object
	err = api.Get(ctx, gatePath, &gate)
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return Result{Why: "no " + ns + "/" + GateName + " Kustomization yet (Flux has not applied the store's profile)"}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("read the window gate: %w", err)
	}
	res := Result{Enforced: true}
	open, why, next, perr := Decide(text, cm.Data[VarTimezone], cm.Data[VarFreezes], now)
	res.Open, res.Why, res.Next = open, why, next
	if perr == nil && !open && cm.Data[VarUnheld] != "" {
		var ks struct{ Items []object }
		if err := api.List(ctx, "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/"+ns+"/kustomizations", &ks); err != nil {
			return Result{}, fmt.Errorf("list Kustomizations: %w", err)
		}
		unheld := strings.Split(cm.Data[VarUnheld], ",")
		for _, k := range ks.Items {
			if !k.waitsForGate() || !k.waiting() {
				continue
			}
			id := k.Metadata.Labels[labelApp] + "@" + k.Metadata.Labels[labelVariant]
			if slices.Contains(unheld, id) {
				res.Released = append(res.Released, id)
			} else {
				res.RideAlong = append(res.RideAlong, id)
			}
		}
		if len(res.Released) > 0 {
			res.Open = true
			res.Why = fmt.Sprintf("%s; open for %s, let through outside the window by the compile (an override)", why, strings.Join(res.Released, ", "))
		} else {
			res.RideAlong = nil
		}
	}
	if gate.Spec.Suspend == !res.Open {
		return res, perr
	}
	patch := map[string]any{"spec": map[string]any{"suspend": !res.Open}}
	if res.Open {
		patch["metadata"] = map[string]any{"annotations": map[string]string{annoRequested: now.UTC().Format(time.RFC3339Nano)}}
	}
	body, _ := json.Marshal(patch)
	if err := api.MergePatch(ctx, gatePath, body, nil); err != nil {
		return Result{}, fmt.Errorf("%s the window gate: %w", map[bool]string{true: "open", false: "close"}[res.Open], err)
	}
	res.Changed = true
	return res, perr
}

// Decide reads the store's window text (internal/window), zone and
// freezes ("start/end" RFC 3339 pairs, comma-separated) at now: open when
// inside the window and no freeze is in force. A window or freeze that
// does not parse is closed, with the error.
func Decide(text, zone, freezes string, now time.Time) (open bool, why string, next time.Time, err error) {
	sched, err := window.Parse(text, zone)
	if err != nil {
		return false, "window unreadable, held (fail closed)", time.Time{}, err
	}
	st, err := sched.At(now)
	if err != nil {
		return false, "window unreadable, held (fail closed)", time.Time{}, err
	}
	switch {
	case st.Always:
		open, why = true, "always in the window (no opening hours)"
	case st.Open:
		open, why, next = true, "inside the window until "+st.ClosesAt.Format(time.RFC3339), st.ClosesAt
	case st.OpensAt.IsZero():
		why = "the store has no window (open around the clock); only changes let through by an override go"
	default:
		why, next = "outside the window; it opens at "+st.OpensAt.Format(time.RFC3339), st.OpensAt
	}
	if freezes == "" {
		return open, why, next, nil
	}
	for _, span := range strings.Split(freezes, ",") {
		a, b, ok := strings.Cut(span, "/")
		start, err1 := time.Parse(time.RFC3339, a)
		end, err2 := time.Parse(time.RFC3339, b)
		if !ok || err1 != nil || err2 != nil {
			return false, "freezes unreadable, held (fail closed)", time.Time{}, fmt.Errorf("%s %q: want start/end in RFC 3339", VarFreezes, span)
		}
		switch {
		case !now.Before(start) && now.Before(end):
			open, why, next = false, "frozen until "+end.UTC().Format(time.RFC3339), end
		case now.Before(start) && (next.IsZero() || start.Before(next)):
			next = start
		}
	}
	return open, why, next, nil
}
