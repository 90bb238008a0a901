package render

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// hostileNames are store names the schema allows and YAML reads as
// something else, or cannot read at all, when substituted bare.
var hostileNames = []string{
	"1234", "yes", "no", "on", "null", "~", "1e5", "0x1F", "12:30",
	"Austin: Lab #2", "Store #12", "- dash", "[x]", "{x}", "*alias", "&anchor", "!tag", "%pct", "@at", "`tick",
	`Bob's "Diner"`, `back\slash`, " lead", "trail ", "tab\there", "line\nbreak", "Montréal Nº 3", "'single'", `"double"`,
	"${FLEETC_RING}", "$${x}",
}

// varRef is Flux's ${NAME} (fluxcd/pkg/envsubst without defaults or
// functions, which fleetc never writes).
var varRef = regexp.MustCompile(`\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}`)

// fluxSubstitute does what kustomize-controller's postBuild does to one
// built object: substitute in the YAML kustomize writes, then read it back
// with sigs.k8s.io/yaml (YAML 1.1: yes and on are booleans).
func fluxSubstitute(t *testing.T, objYAML []byte, vars map[string]string) map[string]any {
	t.Helper()
	out := varRef.ReplaceAllFunc(objYAML, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok {
			t.Fatalf("${%s} is not defined (vars %v)", name, vars)
		}
		return []byte(v)
	})
	js, err := yaml.YAMLToJSON(out)
	if err != nil {
		t.Fatalf("after substitution the YAML does not read: %v\n%s", err, out)
	}
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// kustomizeBuild builds dir of files as kustomize-controller does (load
// restrictions off) and returns each object's YAML by kind/name.
func kustomizeBuild(t *testing.T, files map[string][]byte, dir string) map[string][]byte {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for p, b := range files {
		if err := fs.WriteFile("/"+p, b); err != nil {
			t.Fatal(err)
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kustypes.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(fs, "/"+dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs := map[string][]byte{}
	for _, r := range m.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		objs[r.GetKind()+"/"+r.GetName()] = b
	}
	return objs
}

func dig(obj map[string]any, keys ...string) any {
	var v any = obj
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// TestStoreVarsSurviveFluxSubstitution renders stores with hostile names
// and ids that read as numbers or booleans, and runs each store's build
// the way Flux does: the entry point yields the fleetc-store ConfigMap,
// the Helm release's values get the variables substituted, and a kustomize
// app's manifests get them through the inner Kustomization. Every value
// must arrive as the exact string (or the value's own type).
func TestStoreVarsSurviveFluxSubstitution(t *testing.T) {
	st := deploy.NewState()
	st.Variants["pos@1.0.0-0123456789"] = &deploy.Variant{
		App: "pos", Version: "1.0.0", Namespace: "pos",
		Source: model.AppSource{Helm: &model.HelmSource{Repository: "https://charts.example", Chart: "pos"}},
		Values: map[string]any{"store": map[string]any{
			"id": "${FLEETC_STORE_ID}", "name": "${FLEETC_STORE_NAME}", "ring": "${FLEETC_RING}", "tz": "${FLEETC_TIMEZONE}",
			"feed": "https://menu.example/stores/${FLEETC_STORE_ID_RAW}/menu.json",
		}},
	}
	st.Variants["oil@2.0.0-abcdefabcd"] = &deploy.Variant{
		App: "oil", Version: "2.0.0", Namespace: "oil",
		Source: model.AppSource{Kustomize: &model.KustomizeSource{URL: "https://git.example/oil.git", Path: "./deploy"}},
		Values: map[string]any{"oilAlertCelsius": "190", "site": "https://oil.example/${FLEETC_STORE_ID_RAW}", "probes": json.Number("3"), "enabled": true, "mode": "yes", "zones": []any{"a", "b"}},
	}
	ids := []string{"1234", "on", "1e5", "0x1f", "no", "store-7"}
	names := map[string]string{}
	for i, id := range ids {
		st.Stores[id] = &deploy.StoreState{Ring: ids[(i+1)%len(ids)], Apps: map[string]string{"pos": "pos@1.0.0-0123456789", "oil": "oil@2.0.0-abcdefabcd"}}
	}
	tz := "Etc/GMT+5"
	for n, name := range hostileNames {
		id := ids[n%len(ids)]
		names[id] = name
		tr, err := Render(context.Background(), st, func(id string) StoreVars {
			return StoreVars{ID: id, Name: names[id], Timezone: tz, Ring: st.Stores[id].Ring}
		}, Options{})
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		store := kustomizeBuild(t, tr.Files, "clusters/"+id)
		cm := map[string]any{}
		if err := yaml.Unmarshal(store["ConfigMap/"+StoreConfigMap], &cm); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{}
		for k, v := range cm["data"].(map[string]any) {
			vars[k] = v.(string)
		}
		ring := st.Stores[id].Ring

		rel := kustomizeBuild(t, tr.Files, "releases/pos/1.0.0-0123456789")
		hr := fluxSubstitute(t, rel["HelmRelease/pos"], vars)
		for key, want := range map[string]string{"id": id, "name": name, "ring": ring, "tz": tz, "feed": "https://menu.example/stores/" + id + "/menu.json"} {
			if got := dig(hr, "spec", "values", "store", key); got != want {
				t.Errorf("store %q named %q: values.store.%s = %#v (%T), want the string %q", id, name, key, got, got, want)
			}
		}

		// The store's Kustomization substitutes in the inner Kustomization
		// too (the _RAW forms inside values); it reads fleetc-store itself.
		inner := fluxSubstitute(t, kustomizeBuild(t, tr.Files, "releases/oil/2.0.0-abcdefabcd")["Kustomization/oil.release"], vars)
		innerVars := map[string]string{}
		for k, v := range dig(inner, "spec", "postBuild", "substitute").(map[string]any) {
			innerVars[k] = v.(string)
		}
		for k, v := range vars {
			innerVars[k] = v
		}
		// The app's own manifest, written as app authors do: quoted and bare.
		app := kustomizeBuild(t, map[string][]byte{
			"deploy/kustomization.yaml": []byte("resources:\n- cm.yaml\n"),
			"deploy/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: oil\ndata:\n" +
				"  name: \"${FLEETC_STORE_NAME}\"\n  id: ${FLEETC_STORE_ID}\n  oil: \"${oilAlertCelsius}\"\n  mode: ${mode}\n" +
				"  url: https://oil.example/${FLEETC_STORE_ID_RAW}/${FLEETC_RING_RAW}\n  site: ${site}\n" +
				"spec:\n  probes: ${probes}\n  enabled: ${enabled}\n  zones: ${zones}\n"),
		}, "deploy")["ConfigMap/oil"]
		cmObj := fluxSubstitute(t, app, innerVars)
		for key, want := range map[string]any{
			"data.name": name, "data.id": id, "data.oil": "190", "data.mode": "yes",
			"data.url":    "https://oil.example/" + id + "/" + ring,
			"spec.probes": float64(3), "spec.enabled": true,
		} {
			sec, k, _ := strings.Cut(key, ".")
			if got := dig(cmObj, sec, k); got != want {
				t.Errorf("store %q named %q: app manifest %s = %#v (%T), want %#v", id, name, key, got, got, want)
			}
		}
		if z, _ := json.Marshal(dig(cmObj, "spec", "zones")); string(z) != `["a","b"]` {
			t.Errorf("zones = %s", z)
		}
	}
}

// TestStoreVarUseChecked: a store variable embedded in a longer Helm value
// needs its _RAW form, a store name cannot be embedded, a _RAW form alone
// could read as a number, and a misspelt variable gets a suggestion.
func TestStoreVarUseChecked(t *testing.T) {
	for value, want := range map[string]string{
		"${FLEETC_STORE_ID}":                          "",
		"x-${FLEETC_STORE_ID_RAW}-${FLEETC_RING_RAW}": "",
		"$${FLEETC_STORE_NAME} stays literal":         "",
		"https://m/${FLEETC_STORE_ID}/menu":           "values.v: ${FLEETC_STORE_ID} is a whole YAML value (the store's ConfigMap holds it quoted); inside a longer string write ${FLEETC_STORE_ID_RAW}",
		"Welcome to ${FLEETC_STORE_NAME}":             "values.v: ${FLEETC_STORE_NAME} must be a whole value: a store name is free text (\"Austin: Lab #2\"), and inside a longer string it could break the YAML Flux substitutes into; pass it as its own value and compose the text in the chart",
		"${FLEETC_STORE_ID_RAW}":                      "values.v: ${FLEETC_STORE_ID_RAW} alone may read as a number or a boolean (a store id 1234); as a whole value write ${FLEETC_STORE_ID}",
		"${FLEETC_STORE_IDD}":                         "values.v: ${FLEETC_STORE_IDD} is not a store variable; did you mean ${FLEETC_STORE_ID}?",
		"${FLEETC_STORE_ID":                           "values.v: \"${FLEETC_STORE_ID\" has an unclosed ${",
	} {
		err := checkStoreVarUse("values", map[string]any{"v": value})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%q:\n got %s\nwant %s", value, got, want)
		}
	}
}
