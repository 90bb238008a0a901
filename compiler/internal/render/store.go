package render

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// StoreVars are the per-store facts Flux substitutes into shared release
// files (postBuild.substitute).
type StoreVars struct {
	ID, Name, Timezone, Ring string
}

// storeKustomization builds the Flux Kustomization a store runs for one
// app: it applies the variant's shared release directory from the deploy
// repository with the store's variables.
func storeKustomization(rel *release, ring string, deps []string, sv StoreVars, opts *Options) *kustomizev1.Kustomization {
	k := &kustomizev1.Kustomization{
		TypeMeta: typeMeta(kustomizev1.GroupVersion.String(), kustomizev1.KustomizationKind),
		ObjectMeta: metav1.ObjectMeta{
			Name:      rel.app,
			Namespace: fluxNamespace,
			Labels: map[string]string{
				labelApp:     rel.app,
				labelVersion: labelValue(rel.version),
				labelRing:    labelValue(ring),
				labelVariant: labelValue(rel.dir[strings.LastIndexByte(rel.dir, '/')+1:]),
			},
			Annotations: map[string]string{annoHash: rel.hash},
		},
		Spec: kustomizev1.KustomizationSpec{
			Interval:  duration(reconcileInterval),
			Path:      rel.path(),
			Prune:     true,
			Wait:      opts.Wait,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: opts.deployRepoSource()},
			PostBuild: &kustomizev1.PostBuild{Substitute: map[string]string{
				VarStoreID: sv.ID, VarStoreName: sv.Name, VarTimezone: sv.Timezone, VarRing: ring,
			}},
		},
	}
	for _, d := range deps {
		k.Spec.DependsOn = append(k.Spec.DependsOn, kustomizev1.DependencyReference{Name: d})
	}
	return k
}

// Placeholders stand for the store's own values in a memoised store
// Kustomization; plainSafe writes them unquoted, so each appears verbatim.
const (
	slotID       = "fleetcslotstoreid"
	slotName     = "fleetcslotstorename"
	slotTimezone = "fleetcslottimezone"
)

// template is a store Kustomization rendered once per (variant, ring,
// dependencies) with the store's values cut out: segments[0], value of
// slots[0], segments[1], ... Stores then cost a few appends each instead
// of an encode.
type template struct {
	segments [][]byte
	slots    []int // 0 id, 1 name, 2 timezone
	direct   bool  // a placeholder collided with real content: encode per store
}

type templateKey struct {
	variant, ring, deps string
}

func newTemplate(rel *release, ring string, deps []string, opts *Options) (*template, error) {
	k := storeKustomization(rel, ring, deps, StoreVars{ID: slotID, Name: slotName, Timezone: slotTimezone}, opts)
	doc, err := encodeKustomization(k)
	if err != nil {
		return nil, err
	}
	type hit struct{ at, slot, n int }
	var hits []hit
	for i, tok := range [...]string{slotID, slotName, slotTimezone} {
		if bytes.Count(doc, []byte(tok)) != 1 {
			return &template{direct: true}, nil
		}
		hits = append(hits, hit{bytes.Index(doc, []byte(tok)), i, len(tok)})
	}
	slices.SortFunc(hits, func(a, b hit) int { return a.at - b.at })
	t := &template{}
	prev := 0
	for _, h := range hits {
		t.segments = append(t.segments, doc[prev:h.at])
		t.slots = append(t.slots, h.slot)
		prev = h.at + h.n
	}
	t.segments = append(t.segments, doc[prev:])
	return t, nil
}

// appendStore appends the store's document: the template with the store's
// values written as one-line scalars, exactly as AppendYAML writes them.
func (t *template) appendStore(dst []byte, sv StoreVars) []byte {
	vals := [3]string{sv.ID, sv.Name, sv.Timezone}
	for i, seg := range t.segments {
		dst = append(dst, seg...)
		if i < len(t.slots) {
			dst = appendInlineString(dst, vals[t.slots[i]])
		}
	}
	return dst
}

// storeRenderer renders fleet.yaml files; one per worker, each with its
// own template memo, so workers share nothing mutable.
type storeRenderer struct {
	st        *deploy.State
	releases  map[string]*release
	opts      *Options
	templates map[templateKey]*template
	deps      []string
}

// render writes clusters/<id>/fleet.yaml for one store.
func (r *storeRenderer) render(dst []byte, id string, s *deploy.StoreState, sv StoreVars) ([]byte, error) {
	apps := make([]string, 0, len(s.Apps))
	for app := range s.Apps {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	ring := sv.Ring
	dst = append(dst, header...)
	dst = fmt.Appendf(dst, "# Source: store %s in .fleetc/state.json (ring %s, %d apps)\n", id, ring, len(apps))
	for _, app := range apps {
		vid := s.Apps[app]
		rel := r.releases[vid]
		v := r.st.Variants[vid]
		if rel.app != app {
			return nil, fmt.Errorf("store %q: app %q runs variant %q of another app", id, app, vid)
		}
		r.deps = r.deps[:0]
		for _, d := range v.DependsOn {
			if _, ok := s.Apps[d]; ok {
				r.deps = append(r.deps, d)
			}
		}
		slices.Sort(r.deps)
		r.deps = slices.Compact(r.deps)
		key := templateKey{variant: vid, ring: ring, deps: strings.Join(r.deps, ",")}
		t := r.templates[key]
		if t == nil {
			var err error
			if t, err = newTemplate(rel, ring, r.deps, r.opts); err != nil {
				return nil, fmt.Errorf("store %q: %w", id, err)
			}
			r.templates[key] = t
		}
		dst = append(dst, "---\n"...)
		if t.direct {
			doc, err := encodeKustomization(storeKustomization(rel, ring, r.deps, sv, r.opts))
			if err != nil {
				return nil, fmt.Errorf("store %q: %w", id, err)
			}
			dst = append(dst, doc...)
			continue
		}
		dst = t.appendStore(dst, sv)
	}
	return dst, nil
}
