package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	agentdeploy "github.com/fleetc/fleetc/agent/deploy"
	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/suggest"
)

// Files of a release directory, in the order kustomization.yaml lists
// the resources.
const (
	fileKustomization = "kustomization.yaml"
	fileSource        = "source.yaml"
	fileRelease       = "release.yaml"
)

// header begins every rendered file; deploy.Write deletes a file without
// an index only if it begins so (deploy.GeneratedHeader).
const header = deploy.GeneratedHeader

// release is one rendered variant: its directory and files.
type release struct {
	id      string
	app     string
	version string
	dir     string // releases/<app>/<version>-<hash>
	hash    string // content hash of the three files
	files   [3][]byte
}

// path is the Kustomization path stores use, "./releases/...".
func (r *release) path() string { return "./" + r.dir }

// renderRelease renders the shared directory of variant id.
func renderRelease(id string, v *deploy.Variant) (*release, error) {
	app, version, dirName, ok := deploy.SplitVariantID(id)
	if !ok {
		return nil, fmt.Errorf("variant %q: id is not <app>@<version>-<hash>", id)
	}
	if app != v.App || version != v.Version {
		return nil, fmt.Errorf("variant %q: id does not match app %q version %q", id, v.App, v.Version)
	}
	if err := deploy.ValidSegment(app); err != nil {
		return nil, fmt.Errorf("variant %q: app: %w", id, err)
	}
	if err := deploy.ValidSegment(dirName); err != nil {
		return nil, fmt.Errorf("variant %q: %w", id, err)
	}
	r := &release{id: id, app: app, version: version, dir: "releases/" + app + "/" + dirName}
	from := "# Source: variant " + id + " in .fleetc/state.json\n"
	labels := map[string]string{labelApp: app, labelVersion: labelValue(version), labelVariant: labelValue(dirName)}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: fluxNamespace, Labels: labels}
	}

	var source, rel []byte
	var err error
	switch src := v.Source; {
	case src.Helm != nil && src.Kustomize == nil && src.Agent == nil:
		source, rel, err = helmRelease(v, src.Helm.Repository, src.Helm.Chart, meta)
	case src.Kustomize != nil && src.Helm == nil && src.Agent == nil:
		source, rel, err = kustomizeRelease(v, meta)
	case src.Agent != nil && src.Helm == nil && src.Kustomize == nil:
		source, rel, err = agentRelease(v)
	default:
		err = fmt.Errorf("source must be exactly one of helm, kustomize or agent")
	}
	if err != nil {
		return nil, fmt.Errorf("variant %q: %w", id, err)
	}
	kust := fmt.Appendf(nil, "%s%sapiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\n- %s\n",
		header, from, fileSource, fileRelease)
	r.files = [3][]byte{kust, withHeader(from, source), withHeader(from, rel)}
	r.hash = contentHash(r.files)
	return r, nil
}

func withHeader(from string, docs []byte) []byte {
	b := make([]byte, 0, len(header)+len(from)+len(docs))
	return append(append(append(b, header...), from...), docs...)
}

// contentHash hashes the release files with their names: 16 hex digits of
// SHA-256, enough to tell contents apart, short for 1.2M annotations.
func contentHash(files [3][]byte) string {
	h := sha256.New()
	for i, name := range [3]string{fileKustomization, fileSource, fileRelease} {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[i]))
		h.Write(files[i])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// helmRelease renders a HelmRepository (type oci for oci:// registries)
// and a HelmRelease installing chart at the variant's version.
func helmRelease(v *deploy.Variant, repo, chart string, meta func(string) metav1.ObjectMeta) ([]byte, []byte, error) {
	hr := &sourcev1.HelmRepository{
		TypeMeta:   typeMeta(sourcev1.GroupVersion.String(), sourcev1.HelmRepositoryKind),
		ObjectMeta: meta(v.App),
		Spec:       sourcev1.HelmRepositorySpec{URL: repo, Interval: duration(sourceInterval)},
	}
	if strings.HasPrefix(repo, "oci://") {
		hr.Spec.Type = sourcev1.HelmRepositoryTypeOCI
	}
	source, err := encodeHelmRepository(hr)
	if err != nil {
		return nil, nil, err
	}
	if err := checkStoreVarUse("values", v.Values); err != nil {
		return nil, nil, err
	}
	values, err := valuesJSON(v.Values)
	if err != nil {
		return nil, nil, err
	}
	rel := &helmv2.HelmRelease{
		TypeMeta:   typeMeta(helmv2.GroupVersion.String(), helmv2.HelmReleaseKind),
		ObjectMeta: meta(v.App),
		Spec: helmv2.HelmReleaseSpec{
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:     chart,
				Version:   v.Version,
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: v.App},
			}},
			Interval:        duration(reconcileInterval),
			ReleaseName:     v.App,
			TargetNamespace: v.Namespace,
			Install:         &helmv2.Install{CreateNamespace: true},
			Values:          values,
		},
	}
	out, err := encodeHelmRelease(rel)
	return source, out, err
}

// kustomizeRelease renders a GitRepository or OCIRepository at tag
// tagPrefix+version, the target Namespace (never pruned, like Helm's
// createNamespace) and a Flux Kustomization applying the path. That inner
// Kustomization reads the FLEETC_* variables from the store's ConfigMap
// itself and passes the flat values on as typed YAML text, so the app's
// manifests get each variable in one substitution, with its type. Only the
// _RAW forms may appear inside a value: the store's Kustomization
// substitutes them, and their characters are safe in any YAML string.
func kustomizeRelease(v *deploy.Variant, meta func(string) metav1.ObjectMeta) ([]byte, []byte, error) {
	src := v.Source.Kustomize
	tag := src.TagPrefix + v.Version
	var source []byte
	var kind string
	var err error
	if strings.HasPrefix(src.URL, "oci://") {
		kind = sourcev1.OCIRepositoryKind
		source, err = encodeOCIRepository(&sourcev1.OCIRepository{
			TypeMeta:   typeMeta(sourcev1.GroupVersion.String(), kind),
			ObjectMeta: meta(v.App),
			Spec: sourcev1.OCIRepositorySpec{
				URL: src.URL, Reference: &sourcev1.OCIRepositoryRef{Tag: tag}, Interval: duration(sourceInterval),
			},
		})
	} else {
		kind = sourcev1.GitRepositoryKind
		source, err = encodeGitRepository(&sourcev1.GitRepository{
			TypeMeta:   typeMeta(sourcev1.GroupVersion.String(), kind),
			ObjectMeta: meta(v.App),
			Spec: sourcev1.GitRepositorySpec{
				URL: src.URL, Reference: &sourcev1.GitRepositoryRef{Tag: tag}, Interval: duration(sourceInterval),
			},
		})
	}
	if err != nil {
		return nil, nil, err
	}
	subst, err := substitutions(v.Values)
	if err != nil {
		return nil, nil, err
	}
	var substitute map[string]string
	if len(subst) > 0 {
		substitute = subst
	}
	nsMeta := metav1.ObjectMeta{Name: v.Namespace, Annotations: map[string]string{annoPrune: "disabled"}}
	ns, err := encodeNamespace(nsMeta)
	if err != nil {
		return nil, nil, err
	}
	k, err := encodeKustomization(&kustomizev1.Kustomization{
		TypeMeta:   typeMeta(kustomizev1.GroupVersion.String(), kustomizev1.KustomizationKind),
		ObjectMeta: meta(InnerKustomizationName(v.App)),
		Spec: kustomizev1.KustomizationSpec{
			Interval:        duration(reconcileInterval),
			Path:            src.Path,
			Prune:           true,
			Wait:            true,
			SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: kind, Name: v.App},
			TargetNamespace: v.Namespace,
			PostBuild: &kustomizev1.PostBuild{
				Substitute:     substitute,
				SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: StoreConfigMap}},
			},
		},
	})
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(ns)
	b.WriteString("---\n")
	b.Write(k)
	return source, b.Bytes(), nil
}

// InnerKustomizationName names the Kustomization inside a kustomize app's
// release. The dot keeps it apart from every store Kustomization: app ids
// cannot hold one.
func InnerKustomizationName(app string) string { return app + ".release" }

var varName = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

// substitutions turns a kustomize app's values into postBuild variables,
// each the YAML text of its value, so it keeps its type where the app's
// manifests use it as a whole value: a string is double-quoted ("190"
// stays a string), numbers and booleans are bare, lists are their JSON
// text (a flow sequence), null is null. Nested maps flatten with "_"
// (daypart.breakfastUntil becomes daypart_breakfastUntil). Names must be
// variable names and not start with FLEETC_; values must not use the
// FLEETC_* variables (the app's manifests read those directly).
func substitutions(values map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(values))
	if err := flattenValues(out, "", values); err != nil {
		return nil, err
	}
	return out, nil
}

func flattenValues(out map[string]string, prefix string, values map[string]any) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := k
		if prefix != "" {
			name = prefix + "_" + k
		}
		if !varName.MatchString(name) || strings.HasPrefix(name, "FLEETC_") {
			return fmt.Errorf("values.%s: a kustomize app's values are postBuild variables; the name %q must match %s and not start with FLEETC_", strings.ReplaceAll(name, "_", "."), name, varName)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("values.%s: flattens to variable %q, which another value already sets", k, name)
		}
		switch x := values[k].(type) {
		case map[string]any:
			if err := flattenValues(out, name, x); err != nil {
				return err
			}
		case []any:
			b, err := json.Marshal(x)
			if err != nil {
				return fmt.Errorf("values.%s: %w", name, err)
			}
			out[name] = string(b)
		case string:
			path := "values." + strings.ReplaceAll(name, "_", ".")
			if wholeStoreVar(x) {
				return fmt.Errorf("%s: a kustomize app's manifests read %s themselves (write it there); a value cannot carry it whole", path, x)
			}
			if err := checkStoreVarString(path, x); err != nil {
				return err
			}
			out[name] = string(appendQuoted(nil, x))
		case bool:
			out[name] = fmt.Sprint(x)
		case json.Number:
			out[name] = x.String()
		case float64:
			out[name] = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			out[name] = strconv.Itoa(x)
		case nil:
			out[name] = "null"
		default:
			return fmt.Errorf("values.%s: a kustomize app's values must be maps, lists, strings, numbers or booleans, not %T", name, x)
		}
	}
	return nil
}

// checkStoreVarUse checks how Helm values use the store variables. A
// string that is exactly ${FLEETC_X} is a whole value: the ConfigMap holds
// X double-quoted, so it stays a string. Inside a longer string only the
// bare ${FLEETC_X_RAW} forms may appear, and only for the values whose
// characters cannot break YAML (id, timezone, ring).
func checkStoreVarUse(path string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if err := checkStoreVarUse(path+"."+k, e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkStoreVarUse(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	case string:
		return checkStoreVarString(path, x)
	}
	return nil
}

func checkStoreVarString(path, s string) error {
	rest := s
	for {
		i := strings.Index(rest, "${FLEETC_")
		if i < 0 {
			return nil
		}
		if i > 0 && rest[i-1] == '$' { // $${ is Flux's escape for a literal ${
			rest = rest[i+2:]
			continue
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return fmt.Errorf("%s: %q has an unclosed ${", path, s)
		}
		name := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		whole := s == "${"+name+"}"
		switch idx := slices.Index(storeVarNames[:], name); {
		case idx >= 0 && whole:
		case idx >= 0 && rawVarNames[idx] != "":
			return fmt.Errorf("%s: ${%s} is a whole YAML value (the store's ConfigMap holds it quoted); inside a longer string write ${%s}", path, name, rawVarNames[idx])
		case idx >= 0:
			return fmt.Errorf("%s: ${%s} must be a whole value: a store name is free text (\"Austin: Lab #2\"), and inside a longer string it could break the YAML Flux substitutes into; pass it as its own value and compose the text in the chart", path, name)
		case slices.Contains(rawVarNames[:], name) && whole:
			return fmt.Errorf("%s: ${%s} alone may read as a number or a boolean (a store id 1234); as a whole value write ${%s}", path, name, strings.TrimSuffix(name, rawSuffix))
		case slices.Contains(rawVarNames[:], name):
		default:
			hint := ""
			if d := suggest.Closest(name, append(storeVarNames[:], VarStoreIDRaw, VarTimezoneRaw, VarRingRaw)); d != "" {
				hint = fmt.Sprintf("; did you mean ${%s}?", d)
			}
			return fmt.Errorf("%s: ${%s} is not a store variable%s", path, name, hint)
		}
	}
}

// agentRelease renders fleetc-agent itself (an app with source agent:):
// source.yaml holds its Namespace and RBAC, release.yaml its Deployment,
// both from agent/deploy with the image (<image>:<version>) and the
// collector URL filled in as quoted YAML strings; ${FLEETC_STORE_ID} is
// left for Flux's postBuild, from the store's ConfigMap.
func agentRelease(v *deploy.Variant) ([]byte, []byte, error) {
	a := v.Source.Agent
	if len(v.Values) > 0 {
		return nil, nil, fmt.Errorf("an agent app takes no values (its settings are image and collector)")
	}
	fill := func(b []byte) []byte {
		b = bytes.ReplaceAll(b, []byte(agentdeploy.ImagePlaceholder), appendQuoted(nil, a.Image+":"+v.Version))
		return bytes.ReplaceAll(b, []byte(agentdeploy.CollectorPlaceholder), appendQuoted(nil, a.Collector))
	}
	source := append(append(fill(agentdeploy.Namespace), "---\n"...), fill(agentdeploy.RBAC)...)
	return source, fill(agentdeploy.Deployment), nil
}
