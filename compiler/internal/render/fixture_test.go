package render

import (
	"encoding/json"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// smallState: a Helm app from an HTTPS repository, a kustomize app from
// git and one from OCI, on three stores in two rings.
func smallState() *deploy.State {
	st := deploy.NewState()
	st.Variants["pos@1.4.0-0123456789"] = &deploy.Variant{
		App: "pos", Version: "1.4.0", Namespace: "pos",
		Source: model.AppSource{Helm: &model.HelmSource{Repository: "https://charts.acme.example/stable", Chart: "pos"}},
		Values: map[string]any{
			"replicas": json.Number("2"),
			"store":    map[string]any{"id": "${FLEETC_STORE_ID}", "tz": "${FLEETC_TIMEZONE}"},
			"feature":  map[string]any{"enabled": "yes", "ratio": json.Number("0.5")},
		},
	}
	st.Variants["menu@2.0.1-abcdefabcd"] = &deploy.Variant{
		App: "menu", Version: "2.0.1", Namespace: "menu",
		Source:    model.AppSource{Kustomize: &model.KustomizeSource{URL: "https://git.acme.example/menu.git", Path: "./deploy/edge", TagPrefix: "v"}},
		DependsOn: []string{"pos"},
		Values:    map[string]any{"LOG_LEVEL": "debug", "WORKERS": json.Number("4")},
	}
	st.Variants["grill@0.9.0-fedcba9876"] = &deploy.Variant{
		App: "grill", Version: "0.9.0", Namespace: "devices",
		Source:    model.AppSource{Kustomize: &model.KustomizeSource{URL: "oci://ghcr.io/acme/grill", Path: "./"}},
		DependsOn: []string{"menu", "pos"},
	}
	st.Stores["nyc-0001"] = &deploy.StoreState{Ring: "canary", Apps: map[string]string{
		"pos": "pos@1.4.0-0123456789", "menu": "menu@2.0.1-abcdefabcd", "grill": "grill@0.9.0-fedcba9876",
	}}
	st.Stores["nyc-0002"] = &deploy.StoreState{Ring: "chain", Apps: map[string]string{
		"grill": "grill@0.9.0-fedcba9876", "menu": "menu@2.0.1-abcdefabcd",
	}}
	st.Stores["bos-0001"] = &deploy.StoreState{Ring: "chain", Apps: map[string]string{}}
	return st
}

func smallFacts(id string) StoreVars {
	return map[string]StoreVars{
		"nyc-0001": {ID: "nyc-0001", Name: "NYC #1: Times Sq", Timezone: "America/New_York"},
		"nyc-0002": {ID: "nyc-0002", Name: "yes", Timezone: "America/New_York"},
		"bos-0001": {ID: "bos-0001", Name: "Boston", Timezone: "America/New_York"},
	}[id]
}
