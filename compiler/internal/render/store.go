package render

import (
	"fmt"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/internal/window"
)

// StoreVars are the per-store facts Flux substitutes into shared release
// files: the store's ConfigMap fleetc-store, read by every app
// Kustomization through postBuild.substituteFrom.
type StoreVars struct {
	ID, Name, Timezone, Ring string
}

// StoreConfigMap names the ConfigMap (in flux-system) each store's entry
// point generates with its FLEETC_* variables.
const StoreConfigMap = "fleetc-store"

// Files of a store entry point and of a profile directory.
const (
	fileProfileApps = "apps.yaml"
)

// StorePath is the entry point of store id: Flux in the store is
// bootstrapped to clusters/<id>, and kustomize builds this file.
func StorePath(id string) string { return "clusters/" + id + "/" + fileKustomization }

// ProfileDir is the directory of profile name.
func ProfileDir(name string) string { return "profiles/" + name }

// appStoreKustomization builds the Flux Kustomization that applies one
// variant's shared release directory from the deploy repository, with the
// store's variables from its ConfigMap. It is the same for every store of
// a profile.
func appStoreKustomization(rel *release, v *deploy.Variant, ring string, deps []string, opts *Options) *kustomizev1.Kustomization {
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
			Wait:      true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: opts.deployRepoSource()},
			PostBuild: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: StoreConfigMap},
			}},
		},
	}
	if u := HealthURL(v); u != "" {
		k.Annotations[AnnoHealth] = u
	}
	if opts.Settings.Agent.EnforceWindows {
		k.Spec.DependsOn = append(k.Spec.DependsOn, kustomizev1.DependencyReference{Name: GateName})
	}
	for _, d := range deps {
		k.Spec.DependsOn = append(k.Spec.DependsOn, kustomizev1.DependencyReference{Name: d})
	}
	return k
}

// AnnoHealth on an app Kustomization is the URL the store's fleetc-agent
// probes (the app's health: http: in CUE).
const AnnoHealth = "fleetc.dev/health"

// HealthURL is the in-cluster URL of a variant's HTTP probe, "" when it
// has none: http://<service>.<namespace>.svc:<port><path>.
func HealthURL(v *deploy.Variant) string {
	if v == nil || v.Health == nil || v.Health.HTTP == nil {
		return ""
	}
	p := v.Health.HTTP
	svc := p.Service
	if svc == "" {
		svc = v.App
	}
	return fmt.Sprintf("http://%s.%s.svc:%d%s", svc, v.Namespace, p.Port, p.Path)
}

// Window enforcement (settings.agent.enforceWindows, docs/agent.md): every
// app Kustomization of a store depends on the store's gate, a Flux
// Kustomization named GateName that applies the empty GatePath from the
// deploy repository. Flux lets a dependant apply a revision only once its
// dependency (same source) has applied that revision too, so while the
// store's fleetc-agent keeps the gate suspended (outside the window) a new
// deploy-repository revision waits; removals are not held (a pruned app
// Kustomization is deleted with what it applied).
const (
	GateName = window.GateName
	GatePath = window.GatePath
)

// Store variables for the agent's window enforcement.
const (
	VarWindow  = window.VarWindow  // the window (internal/window text)
	VarFreezes = window.VarFreezes // freezes holding every app: start/end,…
	VarUnheld  = window.VarUnheld  // variants let through outside the window: app@variant,…
)

// gateKustomization is the store's window gate (the same in every profile).
func gateKustomization(opts *Options) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		TypeMeta: typeMeta(kustomizev1.GroupVersion.String(), kustomizev1.KustomizationKind),
		ObjectMeta: metav1.ObjectMeta{
			Name: GateName, Namespace: fluxNamespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "fleetc"},
		},
		Spec: kustomizev1.KustomizationSpec{
			Interval:  duration(reconcileInterval),
			Path:      "./" + GatePath,
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: opts.deployRepoSource()},
		},
	}
}

// gateFile is GatePath's kustomization.yaml: nothing to apply.
const gateFile = header + "# Source: settings.agent.enforceWindows (the store's window gate, docs/agent.md)\n" +
	"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"

// renderProfile renders profiles/<name>/: kustomization.yaml listing
// apps.yaml, and apps.yaml with one Flux Kustomization per app in app-id
// order.
// docs memoises one app Kustomization by (variant, ring, dependencies):
// thousands of profiles share a few hundred distinct documents.
func renderProfile(name string, s *deploy.StoreState, st *deploy.State, releases map[string]*release, docsMemo map[string][]byte, opts *Options) ([2][]byte, error) {
	apps := make([]string, 0, len(s.Apps))
	for app := range s.Apps {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	from := fmt.Sprintf("# Source: profile %s in .fleetc/state.json (ring %s, %d apps)\n", name, s.Ring, len(apps))
	docs := append([]byte(header), from...)
	if opts.Settings.Agent.EnforceWindows {
		doc, ok := docsMemo[GateName]
		if !ok {
			var err error
			if doc, err = encodeKustomization(gateKustomization(opts)); err != nil {
				return [2][]byte{}, fmt.Errorf("profile %q: %w", name, err)
			}
			docsMemo[GateName] = doc
		}
		docs = append(docs, "---\n"...)
		docs = append(docs, doc...)
	}
	var deps []string
	for _, app := range apps {
		vid := s.Apps[app]
		rel := releases[vid]
		if rel == nil || rel.app != app {
			return [2][]byte{}, fmt.Errorf("profile %q: app %q runs variant %q of another app", name, app, vid)
		}
		deps = deps[:0]
		for _, d := range st.Variants[vid].DependsOn {
			if _, ok := s.Apps[d]; ok {
				deps = append(deps, d)
			}
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
		key := vid + "\x00" + s.Ring + "\x00" + strings.Join(deps, ",")
		doc, ok := docsMemo[key]
		if !ok {
			var err error
			if doc, err = encodeKustomization(appStoreKustomization(rel, st.Variants[vid], s.Ring, deps, opts)); err != nil {
				return [2][]byte{}, fmt.Errorf("profile %q: %w", name, err)
			}
			docsMemo[key] = doc
		}
		docs = append(docs, "---\n"...)
		docs = append(docs, doc...)
	}
	kust := fmt.Appendf(nil, "%s%sapiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\n",
		header, from, fileProfileApps)
	return [2][]byte{kust, docs}, nil
}

// appendStoreEntry appends clusters/<id>/kustomization.yaml: the store's
// profile as its one resource and a ConfigMap generator for its
// variables. A store that runs nothing has no resource: Flux prunes what
// it applied before.
func appendStoreEntry(dst []byte, id, profile string, sv StoreVars, s *deploy.StoreState, enforce bool) []byte {
	dst = append(dst, header...)
	dst = append(dst, "# Source: store "...)
	dst = append(dst, id...)
	dst = append(dst, " in .fleetc/state.json\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"...)
	if profile != "" {
		dst = append(dst, "resources:\n- ../../"...)
		dst = append(dst, ProfileDir(profile)...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "configMapGenerator:\n- name: "+StoreConfigMap+"\n  namespace: "+fluxNamespace+"\n  options:\n    disableNameSuffixHash: true\n  literals:\n"...)
	vals := [...]string{sv.ID, sv.Name, sv.Timezone, sv.Ring}
	for i, v := range vals {
		dst = appendQuotedLiteral(dst, storeVarNames[i], v)
	}
	for i, v := range vals {
		if rawVarNames[i] != "" {
			dst = appendRawLiteral(dst, rawVarNames[i], v)
		}
	}
	if h := s.Hold; enforce && h != nil {
		dst = appendRawLiteral(dst, VarWindow, h.Window)
		if h.Freezes != "" {
			dst = appendRawLiteral(dst, VarFreezes, h.Freezes)
		}
		if len(h.Unheld) > 0 {
			// as the agent reads them off an app Kustomization: its
			// fleetc.dev/app label, "@", its fleetc.dev/variant label
			ids := make([]string, 0, len(h.Unheld))
			for _, vid := range h.Unheld {
				app, _, dir, _ := deploy.SplitVariantID(vid)
				ids = append(ids, app+"@"+labelValue(dir))
			}
			dst = appendRawLiteral(dst, VarUnheld, strings.Join(ids, ","))
		}
	}
	return dst
}

func appendRawLiteral(dst []byte, name, value string) []byte {
	dst = append(dst, "  - "...)
	dst = appendInlineString(dst, name+"="+literalValue(value))
	return append(dst, '\n')
}

// appendQuotedLiteral appends the literal NAME='"value"': the ConfigMap
// holds value as a YAML double-quoted scalar (kustomize strips the single
// quotes). The line is plain YAML when value is plain-safe text, the
// common case (FLEETC_STORE_ID='"nyc-0001"'), and double-quoted otherwise.
func appendQuotedLiteral(dst []byte, name, value string) []byte {
	lit := name + "='" + string(appendQuoted(nil, value)) + "'"
	dst = append(dst, "  - "...)
	if plainSafe(value) {
		dst = append(dst, lit...)
	} else {
		dst = appendQuoted(dst, lit)
	}
	return append(dst, '\n')
}

// literalValue protects a configMapGenerator literal's value: kustomize
// strips one pair of matching quotes around it, so a value that is itself
// quoted gets another pair.
func literalValue(v string) string {
	if len(v) >= 2 && v[0] == v[len(v)-1] && (v[0] == '"' || v[0] == '\'') {
		return `"` + v + `"`
	}
	return v
}
