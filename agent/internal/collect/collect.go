// Package collect reads a store cluster once into a report: the nodes'
// heartbeat and, per fleetc app, what its Flux Kustomization (and the
// HelmRelease or inner Kustomization that applies it) says.
//
// An app Kustomization is one labelled fleetc.dev/app=<app> whose name does
// not end in ".release": fleetc renders <app> and, for kustomize-source
// apps, an inner <app>.release. Its labels fleetc.dev/version and
// fleetc.dev/variant, status.lastAppliedRevision and Ready condition become
// the app's entry. While the app Kustomization is not Ready=True it may be
// waiting for health of what it applied, and that may already have failed:
// a HelmRelease <app> or a Kustomization <app>.release that is Ready=False
// makes the app Ready "false" with that object's reason, message and
// transition time.
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/fleetc/fleetc/agent/internal/kube"
	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/internal/window"
)

// Labels fleetc puts on the Flux objects it renders.
const (
	LabelApp     = "fleetc.dev/app"
	LabelVersion = "fleetc.dev/version"
	LabelVariant = "fleetc.dev/variant"
)

// appID is report.Validate's rule for app ids: a report holding another is
// refused whole, so such an app is left out instead.
var appID = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// AnnoHealth on an app Kustomization is the URL of its health probe.
const AnnoHealth = "fleetc.dev/health"

// Prober runs health probes; *probe.Prober is one.
type Prober interface {
	All(ctx context.Context, urls map[string]string) map[string]report.Health
}

// Lister GETs a collection and decodes it; *kube.Client is one.
type Lister interface {
	List(ctx context.Context, path string, out any) error
}

// object is the part of a Flux object or a Node the agent reads.
type object struct {
	Metadata struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Status struct {
		Conditions          []condition `json:"conditions"`
		LastAppliedRevision string      `json:"lastAppliedRevision"`
	} `json:"status"`
}

type condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason"`
	Message            string    `json:"message"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

type list struct {
	Items []object `json:"items"`
}

// ready returns the object's Ready condition, or nil.
func (o *object) ready() *condition {
	for i, c := range o.Status.Conditions {
		if c.Type == "Ready" {
			return &o.Status.Conditions[i]
		}
	}
	return nil
}

// Read lists the Kustomizations and HelmReleases in namespace and the
// cluster's nodes, and returns the report they make, with Schema, At (now)
// Nodes and Apps set: Store, Seq and Agent are the caller's. Any list
// that fails fails the read, except HelmReleases answering 404: the Helm
// controller's CRD is not installed, so there are none. Apps whose
// Kustomization has no version label or whose id is not one are left out,
// with a warning.
func Read(ctx context.Context, l Lister, namespace string, now time.Time, log *slog.Logger) (*report.Report, error) {
	return ReadProbed(ctx, l, nil, namespace, now, log)
}

// ReadProbed is Read, and with p set it also runs the health probe of
// every reported app whose Kustomization carries one (AnnoHealth), in
// parallel, and puts each result in the app's Health.
func ReadProbed(ctx context.Context, l Lister, p Prober, namespace string, now time.Time, log *slog.Logger) (*report.Report, error) {
	var nodes, ks, hrs list
	if err := l.List(ctx, "/api/v1/nodes", &nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if err := l.List(ctx, "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/"+namespace+"/kustomizations", &ks); err != nil {
		return nil, fmt.Errorf("list Kustomizations: %w", err)
	}
	var se *kube.StatusError
	if err := l.List(ctx, "/apis/helm.toolkit.fluxcd.io/v2/namespaces/"+namespace+"/helmreleases", &hrs); err != nil &&
		!(errors.As(err, &se) && se.Code == http.StatusNotFound) {
		return nil, fmt.Errorf("list HelmReleases: %w", err)
	}

	r := &report.Report{Schema: report.Schema, At: now.UTC().Truncate(time.Second), Apps: map[string]report.App{}}
	r.Nodes.Total = len(nodes.Items)
	for _, n := range nodes.Items {
		if c := n.ready(); c != nil && c.Status == "True" {
			r.Nodes.Ready++
		}
	}

	kByName := make(map[string]*object, len(ks.Items))
	for i := range ks.Items {
		kByName[ks.Items[i].Metadata.Name] = &ks.Items[i]
	}
	hrByName := make(map[string]*object, len(hrs.Items))
	for i := range hrs.Items {
		hrByName[hrs.Items[i].Metadata.Name] = &hrs.Items[i]
	}
	for _, k := range ks.Items {
		id := k.Metadata.Labels[LabelApp]
		if id == "" || strings.HasSuffix(k.Metadata.Name, ".release") {
			continue
		}
		a := report.App{
			Version:  k.Metadata.Labels[LabelVersion],
			Variant:  k.Metadata.Labels[LabelVariant],
			Revision: k.Status.LastAppliedRevision,
			Ready:    "unknown",
		}
		if !appID.MatchString(id) {
			log.Warn("app label is not an app id; left out of the report", "app", id, "kustomization", namespace+"/"+k.Metadata.Name, "label", LabelApp)
			continue
		}
		if a.Version == "" {
			log.Warn("app Kustomization has no version label; left out of the report", "app", id, "kustomization", namespace+"/"+k.Metadata.Name, "label", LabelVersion)
			continue
		}
		c := k.ready()
		if c != nil && window.HeldByGate(c.Status, c.Reason, c.Message) {
			// The store's window gate holds a new revision: the app still
			// runs what its release objects were last applied at.
			inner := hrByName[id]
			if inner == nil {
				inner = kByName[id+".release"]
			}
			if inner == nil || inner.Metadata.Labels[LabelVersion] == "" {
				log.Debug("app waits for the store's window before its first install; left out of the report", "app", id)
				continue
			}
			a.Held = a.Version
			a.Version, a.Variant = inner.Metadata.Labels[LabelVersion], inner.Metadata.Labels[LabelVariant]
			a.Ready = "unknown"
			if ic := inner.ready(); ic != nil {
				a.Ready = map[string]string{"True": "true", "False": "false"}[ic.Status]
				if a.Ready == "" {
					a.Ready = "unknown"
				}
				setCondition(&a, ic)
			}
			if a.Held == a.Version {
				a.Held = "" // a new revision of the same version (values, other apps)
			}
			r.Apps[id] = a
			continue
		}
		if c != nil {
			a.Ready = map[string]string{"True": "true", "False": "false"}[c.Status]
			if a.Ready == "" {
				a.Ready = "unknown"
			}
			setCondition(&a, c)
		}
		if a.Ready != "true" {
			for _, applied := range []*object{hrByName[id], kByName[id+".release"]} {
				if applied == nil {
					continue
				}
				if ac := applied.ready(); ac != nil && ac.Status == "False" {
					a.Ready = "false"
					setCondition(&a, ac)
				}
			}
		}
		r.Apps[id] = a
	}
	if p != nil {
		urls := map[string]string{}
		for _, k := range ks.Items {
			id := k.Metadata.Labels[LabelApp]
			if u := k.Metadata.Annotations[AnnoHealth]; u != "" && !strings.HasSuffix(k.Metadata.Name, ".release") {
				if _, ok := r.Apps[id]; ok {
					urls[id] = u
				}
			}
		}
		for id, h := range p.All(ctx, urls) {
			a := r.Apps[id]
			a.Health = &h
			r.Apps[id] = a
		}
	}
	return r, nil
}

func setCondition(a *report.App, c *condition) {
	a.Reason, a.Message, a.Since = c.Reason, c.Message, nil
	if !c.LastTransitionTime.IsZero() {
		t := c.LastTransitionTime.UTC()
		a.Since = &t
	}
}
