//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
)

// The scenario's fleet: three stores in three rings whose names and ids
// YAML would misread if substituted bare, a Helm app from the loopback
// chart repository, a kustomize app from the loopback git server that
// depends on it, and a biometric app that legal restricts.
//
// Windows (fleet defaults: from 30 minutes after closing to 60 minutes
// before opening): the Chicago stores open 06:00–22:00, so they are
// deployable 22:30–05:00 CST (04:30–11:00 UTC in November); store-12 in
// Tokyo opens 10:00–18:00, deployable 18:30–09:00 JST (09:30–00:00 UTC).
// At 10:00 UTC all three are deployable; at 06:00 UTC only Chicago's.
const (
	nowAll      = "2026-11-24T10:00:00Z"
	nowNotTokyo = "2026-11-25T06:00:00Z"
	nowAllNext  = "2026-11-25T10:00:00Z"
	nowLater    = "2026-11-26T06:00:00Z"
)

var fleetFiles = map[string]string{
	"fleet.cue": `package fleet

settings: deployRepoSource: "flux-system"

teams: legal: members: ["hweiss"]
`,
	"inventory/stores/stores.cue": `package fleet

_night: {
	for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {(d): {open: "06:00", close: "22:00"}}
}
_tokyo: {
	for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {(d): {open: "10:00", close: "18:00"}}
}

stores: {
	"1234": {
		name:     "1234"
		geo:      "us/midwest/in"
		timezone: "America/Chicago"
		hours:    _night
		jurisdiction: {country: "US", region: "IN"}
		attributes: owner: "corporate"
	}
	"austin-lab-2": {
		name:     "Austin: Lab #2"
		geo:      "us/south/tx"
		timezone: "America/Chicago"
		hours:    _night
		jurisdiction: {country: "US", region: "TX"}
		attributes: owner: "corporate"
	}
	"store-12": {
		name:     "Store #12"
		geo:      "jp/kanto/tokyo"
		timezone: "Asia/Tokyo"
		hours:    _tokyo
		jurisdiction: country: "JP"
		attributes: owner: "corporate"
	}
}
`,
	"approvals.json": `{"approvals": [{"user": "hweiss", "commit": "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"}]}
`,
	"rings/rings.cue": `package fleet

rings: {
	lab: {order: 0, stores: ["1234"]}
	canary: {order: 1, stores: ["austin-lab-2"]}
	chain: {order: 2, stores: ["store-12"]}
}
`,
	"apps/greeter.cue": `package fleet

apps: greeter: {
	source: helm: {repository: "{{HELM}}", chart: "greeter"}
	version: "1.0.0"
	values: store: {
		name: "${FLEETC_STORE_NAME}"
		id:   "${FLEETC_STORE_ID}"
		ring: "${FLEETC_RING}"
		feed: "https://menu.example/stores/${FLEETC_STORE_ID_RAW}/menu.json"
	}
}
`,
	"apps/oil.cue": `package fleet

apps: oil: {
	source: kustomize: {url: "{{GIT}}/oil", path: "./deploy", tagPrefix: "v"}
	version: "1.0.0"
	values: {
		oilAlertCelsius: "190"
		probes:          "3"
		port:            8080
		site:            "https://oil.example/${FLEETC_STORE_ID_RAW}"
	}
	dependsOn: ["greeter"]
}
`,
	"apps/vision.cue": `package fleet

apps: "drive-thru-vision": {
	namespace: "vision"
	source: helm: {repository: "{{HELM}}", chart: "greeter"}
	version: "1.0.0"
	values: store: {name: "${FLEETC_STORE_NAME}", id: "${FLEETC_STORE_ID}", ring: "${FLEETC_RING}", feed: "none"}
}
`,
}

// greeterChart: one ConfigMap that echoes the values and their Go types,
// so a substitution that changed a type shows in the cluster.
func greeterChart(version string, broken bool) map[string]string {
	name := "greeter"
	if broken {
		name = "Not_A_Valid_Name" // the API server refuses it: the install fails
	}
	return map[string]string{
		"values.yaml": "store: {}\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: ` + name + `
data:
  name: {{ .Values.store.name | quote }}
  nameKind: {{ kindOf .Values.store.name | quote }}
  id: {{ .Values.store.id | quote }}
  idKind: {{ kindOf .Values.store.id | quote }}
  ring: {{ .Values.store.ring | quote }}
  feed: {{ .Values.store.feed | quote }}
  chartVersion: {{ .Chart.Version | quote }}
`,
	}
}

// oilRepo: the kustomize app's manifests, written as app authors do, with
// a quoted and a bare variable.
var oilRepo = map[string]string{
	"deploy/kustomization.yaml": "resources:\n- cm.yaml\n- svc.yaml\n",
	"deploy/svc.yaml": `apiVersion: v1
kind: Service
metadata:
  name: oil
spec:
  ports:
  - port: ${port}
`,
	"deploy/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: oil
data:
  name: "${FLEETC_STORE_NAME}"
  id: ${FLEETC_STORE_ID}
  oil: "${oilAlertCelsius}"
  probes: "${probes}"
  site: ${site}
  url: https://oil.example/${FLEETC_STORE_ID_RAW}/${FLEETC_RING_RAW}
`,
}

// writeFleet writes the fleet with the servers' URLs and the repository's
// policies (copied, so a step can change one).
func writeFleet(root, policies, helmURL, gitURL string) error {
	for p, c := range fleetFiles {
		c = strings.ReplaceAll(strings.ReplaceAll(c, "{{HELM}}", helmURL), "{{GIT}}", gitURL)
		if err := writeFile(filepath.Join(root, p), c); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(policies)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".rego") || strings.HasSuffix(e.Name(), "_test.rego") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(policies, e.Name()))
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(root, "policies", e.Name()), string(b)); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// editFile replaces old with new in path, once; it fails when old is not
// there, so a drifted fixture is noticed.
func editFile(path, old, new string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	if !strings.Contains(s, old) {
		return &os.PathError{Op: "edit", Path: path, Err: os.ErrNotExist}
	}
	return os.WriteFile(path, []byte(strings.Replace(s, old, new, 1)), 0o644)
}
