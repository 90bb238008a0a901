package render

import (
	"encoding/json"
	"fmt"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and intervals every rendered object shares.
const (
	fluxNamespace = "flux-system"
	// Store Kustomizations and HelmReleases reconcile every 10 minutes;
	// sources are pinned to a tag or chart version, so they poll hourly:
	// 60,000 stores × 20 apps polling every 10 minutes would be 2,000
	// requests a second against the app repositories.
	reconcileInterval = 10 * time.Minute
	sourceInterval    = time.Hour

	labelApp     = "fleetc.dev/app"
	labelVersion = "fleetc.dev/version"
	labelRing    = "fleetc.dev/ring"
	labelVariant = "fleetc.dev/variant"
	annoHash     = "fleetc.dev/content-hash"
	annoPrune    = "kustomize.toolkit.fluxcd.io/prune"

	// Variables Flux postBuild substitutes into each store's release.
	// Each holds its value as a YAML double-quoted scalar, so a whole
	// value "${FLEETC_STORE_NAME}" is a string after substitution whatever
	// the name is (1234, yes, "Austin: Lab #2", "Store #12").
	VarStoreID   = "FLEETC_STORE_ID"
	VarStoreName = "FLEETC_STORE_NAME"
	VarTimezone  = "FLEETC_TIMEZONE"
	VarRing      = "FLEETC_RING"
	// The _RAW forms hold the bare text, to embed in a longer string
	// ("https://menu.example/stores/${FLEETC_STORE_ID_RAW}/menu.json"). Only
	// values the schema restricts to [A-Za-z0-9_+/-] have one: a store name
	// is free text and cannot be embedded safely.
	rawSuffix      = "_RAW"
	VarStoreIDRaw  = VarStoreID + rawSuffix
	VarTimezoneRaw = VarTimezone + rawSuffix
	VarRingRaw     = VarRing + rawSuffix
)

// storeVarNames lists the substitution variables in a fixed order.
var storeVarNames = [...]string{VarStoreID, VarStoreName, VarTimezone, VarRing}

// rawVarNames lists the bare-text forms, in the order of storeVarNames
// ("" where a variable has none).
var rawVarNames = [...]string{VarStoreIDRaw, "", VarTimezoneRaw, VarRingRaw}

// manifest is how every object is written: type, metadata and spec, in
// that order, and never a status.
type manifest[S any] struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       S                 `json:"spec,omitzero"`
}

func encodeManifest[S any](tm metav1.TypeMeta, om metav1.ObjectMeta, spec S) ([]byte, error) {
	js, err := json.Marshal(manifest[S]{APIVersion: tm.APIVersion, Kind: tm.Kind, Metadata: om, Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", tm.Kind, om.Name, err)
	}
	return AppendYAML(nil, js)
}

func duration(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }

func typeMeta(gv, kind string) metav1.TypeMeta { return metav1.TypeMeta{APIVersion: gv, Kind: kind} }

func encodeKustomization(k *kustomizev1.Kustomization) ([]byte, error) {
	return encodeManifest(k.TypeMeta, k.ObjectMeta, k.Spec)
}

func encodeHelmRelease(h *helmv2.HelmRelease) ([]byte, error) {
	return encodeManifest(h.TypeMeta, h.ObjectMeta, h.Spec)
}

func encodeHelmRepository(r *sourcev1.HelmRepository) ([]byte, error) {
	return encodeManifest(r.TypeMeta, r.ObjectMeta, r.Spec)
}

func encodeGitRepository(r *sourcev1.GitRepository) ([]byte, error) {
	return encodeManifest(r.TypeMeta, r.ObjectMeta, r.Spec)
}

func encodeOCIRepository(r *sourcev1.OCIRepository) ([]byte, error) {
	return encodeManifest(r.TypeMeta, r.ObjectMeta, r.Spec)
}

// encodeNamespace writes a core/v1 Namespace. k8s.io/api is not a
// dependency; a Namespace is only metadata.
func encodeNamespace(om metav1.ObjectMeta) ([]byte, error) {
	return encodeManifest(typeMeta("v1", "Namespace"), om, struct{}{})
}

// valuesJSON encodes Helm values; json.Number values stay numbers and
// map keys come out sorted.
func valuesJSON(values map[string]any) (*apiextensionsv1.JSON, error) {
	if len(values) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	return &apiextensionsv1.JSON{Raw: raw}, nil
}

// labelValue makes s a valid label value: at most 63 characters of
// [A-Za-z0-9_.-], starting and ending alphanumeric. Others become '_'
// (a version's "+build" becomes "_build").
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	alnum := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for len(b) > 0 && !alnum(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && !alnum(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return string(b)
}
