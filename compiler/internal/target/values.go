package target

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// layer is one source of values in merge order.
type layer struct {
	name   string // "app", "group:<name>", "store"
	values map[string]any
}

// layersFor lists the layers of an app for a store: the app's values, the
// overrides the store's groups select (declared order), the store's values.
func layersFor(app *model.App, applied []int, store map[string]any) []layer {
	ls := make([]layer, 0, len(applied)+2)
	ls = append(ls, layer{"app", app.Values})
	for _, i := range applied {
		o := app.Overrides[i]
		ls = append(ls, layer{"group:" + o.Group, o.Values})
	}
	if store != nil {
		ls = append(ls, layer{"store", store})
	}
	return ls
}

// mergeLayers deep-merges the layers into a fresh map (inputs are never
// modified or aliased) and records which layer set every leaf. Maps merge
// key by key; lists and scalars replace; an empty map is a leaf until a
// later layer puts keys into it.
func mergeLayers(ls []layer) (map[string]any, map[string]string) {
	out := map[string]any{}
	prov := map[string]string{}
	for _, l := range ls {
		mergeInto(out, l.values, "", l.name, prov)
	}
	return out, prov
}

func mergeInto(dst, src map[string]any, prefix, layerName string, prov map[string]string) {
	for k, sv := range src {
		p := joinPath(prefix, k)
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				if len(dm) == 0 {
					delete(prov, p) // was an empty-map leaf
				}
				if len(sm) == 0 && len(dm) == 0 {
					prov[p] = layerName
				}
				mergeInto(dm, sm, p, layerName, prov)
				continue
			}
		}
		if _, had := dst[k]; had {
			dropSubtree(prov, p)
		}
		dst[k] = deepCopy(sv)
		recordLeaves(prov, p, sv, layerName)
	}
}

// dropSubtree forgets the provenance of a path and everything below it.
func dropSubtree(prov map[string]string, p string) {
	delete(prov, p)
	for q := range prov {
		if strings.HasPrefix(q, p) && len(q) > len(p) && q[len(p)] == '.' {
			delete(prov, q)
		}
	}
}

func recordLeaves(prov map[string]string, p string, v any, layerName string) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		prov[p] = layerName
		return
	}
	for k, sv := range m {
		recordLeaves(prov, joinPath(p, k), sv, layerName)
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, sv := range t {
			m[k] = deepCopy(sv)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, sv := range t {
			l[i] = deepCopy(sv)
		}
		return l
	}
	return v
}

// joinPath appends a key to a value path with dots; keys that are not
// plain words are quoted so paths stay unambiguous.
func joinPath(prefix, k string) string {
	if !plainKey(k) {
		k = strconv.Quote(k)
	}
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// canonicalJSON encodes v with sorted map keys (encoding/json sorts them)
// and numbers as written (json.Number) — stable for hashing and keys.
func canonicalJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// variantHashInput is what a variant id hashes.
type variantHashInput struct {
	App       string          `json:"app"`
	Version   string          `json:"version"`
	Namespace string          `json:"namespace"`
	Source    model.AppSource `json:"source"`
	DependsOn []string        `json:"dependsOn"`
	Values    map[string]any  `json:"values"`
	// Health is left out when unset, so variants without a probe keep
	// the ids they had before probes existed.
	Health *model.Health `json:"health,omitempty"`
}

// newVariant merges the layers and names the result.
func newVariant(app *model.App, version string, ls []layer) (*Variant, error) {
	values, prov := mergeLayers(ls)
	v := &Variant{
		App: app.ID, Version: version, Namespace: app.Namespace,
		Source: app.Source, DependsOn: app.DependsOn, Health: app.Health,
		Values: values, Provenance: prov,
	}
	js, err := canonicalJSON(variantHashInput{v.App, v.Version, v.Namespace, v.Source, v.DependsOn, v.Values, v.Health})
	if err != nil {
		return nil, fmt.Errorf("encode values of app %q: %w", app.ID, err)
	}
	sum := sha256.Sum256([]byte(js))
	v.ID = fmt.Sprintf("%s@%s-%s", app.ID, version, hex.EncodeToString(sum[:])[:10])
	return v, nil
}
