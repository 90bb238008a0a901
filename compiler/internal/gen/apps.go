package gen

import (
	"math/rand/v2"
	"strconv"
)

// Source kinds of a generated app.
const (
	helmHTTPS    = "helm-https"
	helmOCI      = "helm-oci"
	kustomizeGit = "kustomize-git"
	kustomizeOCI = "kustomize-oci"
)

// groupValues is a group override an app asks for when the group exists.
type groupValues struct {
	group  string
	values obj
}

// appSpec is a catalog entry: the chain's real-looking apps first.
type appSpec struct {
	id, description, namespace string
	source                     string
	values                     obj
	overrides                  []groupValues
	target                     selector
	dependsOn                  []string
	pinLast                    bool // pin the last ring to an older version
	rcFirst                    bool // give the first two rings a release candidate
}

var appCatalog = []appSpec{
	{id: "pos", description: "Point of sale", namespace: "pos", source: helmHTTPS, pinLast: true,
		values: obj{
			{"storeId", "${FLEETC_STORE_ID}"},
			{"timezone", "${FLEETC_TIMEZONE}"},
			{"currency", "USD"},
			{"receipt", obj{{"language", "en"}}},
			{"printer", inline{{"model", "epson-tm-m30iii"}, {"paperWidth", 80}}},
			{"loyalty", inline{{"enabled", true}, {"program", "copperleaf-rewards"}}},
		},
		overrides: []groupValues{
			{"franchise", obj{{"loyalty", inline{{"enabled", false}}}}},
			{"franchise-lakeshore-restaurants", obj{{"loyalty", inline{{"enabled", true}, {"program", "lakeshore-rewards"}}}}},
			{"canada", obj{{"currency", "CAD"}}},
			{"quebec", obj{{"receipt", obj{{"language", "fr"}}}}},
		}},
	{id: "mqtt-bridge", description: "In-store MQTT broker bridged to the cloud", namespace: "messaging", source: helmHTTPS,
		values: obj{
			{"clientId", "${FLEETC_STORE_ID}"},
			{"upstream", inline{{"host", "events.copperleaf.example"}, {"port", 8883}}},
		},
		overrides: []groupValues{{"canada", obj{{"upstream", inline{{"host", "events.ca.copperleaf.example"}}}}}}},
	{id: "kitchen-display", description: "Kitchen display system", namespace: "kitchen", source: helmOCI,
		values:    obj{{"broker", "mqtt://mqtt-bridge.messaging.svc:1883"}, {"layout", "two-column"}, {"language", "en"}},
		overrides: []groupValues{{"planogram-double-drive-thru", obj{{"layout", "drive-thru-split"}}}, {"quebec", obj{{"language", "fr"}}}},
		target:    one("devices", "In", "kds"), dependsOn: []string{"mqtt-bridge"}},
	{id: "menu-boards", description: "Digital menu boards", namespace: "signage", source: kustomizeOCI,
		values: obj{
			{"language", "en"},
			{"feed", "https://menu.copperleaf.example/v2/stores/${FLEETC_STORE_ID_RAW}/menu.json"},
			{"theme", "classic"},
			{"breakfastUntil", "10:30"},
		},
		overrides: []groupValues{
			{"quebec", obj{{"language", "fr"}}},
			{"summer-bbq-2026", obj{{"theme", "summer-bbq"}}},
			{"breakfast-all-day", obj{{"breakfastUntil", "23:59"}}},
		},
		target: one("devices", "In", "menuboard")},
	{id: "fryer-telemetry", description: "Acme grill and fryer telemetry", namespace: "telemetry", source: kustomizeGit,
		values:    obj{{"protocol", "acme-modbus-v2"}, {"sampleInterval", "15s"}},
		overrides: []groupValues{{"acme3001-grills", obj{{"protocol", "acme-rest-v3"}}}},
		target:    one("devices", "In", "acme3000", "acme3001"), dependsOn: []string{"mqtt-bridge"}},
	{id: "drive-thru-vision", description: "Drive-thru lane cameras with face recognition", namespace: "vision", source: helmHTTPS,
		values:    obj{{"biometrics", inline{{"faceMatch", true}, {"retentionDays", 30}}}, {"lanes", "auto"}},
		overrides: []groupValues{{"planogram-double-drive-thru", obj{{"lanes", "dual"}}}},
		target: selector{{
			{key: "driveThruLanes", op: "Gt", values: []string{"0"}},
			{key: "devices", op: "In", values: []string{"dtcam"}},
		}},
		dependsOn: []string{"pos"}},
	{id: "order-router", description: "Delivery marketplace integration", namespace: "orders", source: helmOCI, rcFirst: true,
		values: obj{{"partners", inline{{"doordash", false}, {"ubereats", false}, {"grubhub", false}, {"skipthedishes", false}}}},
		overrides: []groupValues{
			{"doordash", obj{{"partners", inline{{"doordash", true}}}}},
			{"ubereats", obj{{"partners", inline{{"ubereats", true}}}}},
			{"grubhub", obj{{"partners", inline{{"grubhub", true}}}}},
			{"skipthedishes", obj{{"partners", inline{{"skipthedishes", true}}}}},
		},
		target: one("deliveryPartners", "Exists"), dependsOn: []string{"pos"}},
	{id: "loyalty", description: "Loyalty and offers", namespace: "loyalty", source: helmHTTPS, dependsOn: []string{"pos"},
		values: obj{{"program", "copperleaf-rewards"}}},
	{id: "inventory-sync", description: "Stock counts to the supply chain", namespace: "inventory", source: kustomizeGit,
		values: obj{{"interval", "5m"}}},
	{id: "temperature-monitor", description: "Walk-in cooler sensors", namespace: "telemetry-cold", source: kustomizeGit,
		values: obj{{"alertCelsius", 5}}, target: one("format", "NotIn", "kiosk"), dependsOn: []string{"mqtt-bridge"}},
	{id: "music-player", description: "In-store music", namespace: "music", source: helmOCI,
		values: obj{{"volume", 40}}, target: one("format", "In", "standard", "large")},
	{id: "wifi-portal", description: "Guest Wi-Fi captive portal", namespace: "wifi", source: helmHTTPS,
		values: obj{{"ssid", "Copperleaf-Guest"}}, rcFirst: true},
	{id: "labor-clock", description: "Employee time clock", namespace: "labor", source: helmHTTPS,
		values: obj{{"badgeReader", true}}},
	{id: "printer-agent", description: "Receipt and label printers", namespace: "printing", source: kustomizeOCI,
		values: obj{{"spool", "/var/spool/fleet"}}, dependsOn: []string{"pos"}},
	{id: "payments-terminal", description: "Card terminals", namespace: "payments", source: helmOCI, pinLast: true,
		values: obj{{"processor", "worldpay"}}, dependsOn: []string{"pos"}},
	{id: "security-agent", description: "Endpoint security", namespace: "security", source: helmHTTPS,
		values: obj{{"mode", "enforce"}}},
	{id: "log-shipper", description: "Logs to the central collector", namespace: "logging", source: helmHTTPS,
		values: obj{{"endpoint", "https://logs.copperleaf.example"}}},
	{id: "node-exporter", description: "Node metrics", namespace: "monitoring", source: helmHTTPS,
		values: obj{{"scrapeInterval", "30s"}}},
	{id: "backup-agent", description: "Local database backups", namespace: "backup", source: kustomizeGit,
		values: obj{{"schedule", "0 4 * * *"}}},
	{id: "digital-coupons", description: "QR coupons on receipts", namespace: "coupons", source: kustomizeOCI,
		values: obj{{"campaign", "default"}}, target: one("languages", "In", "en")},
}

// genApp is an app ready to write.
type genApp struct {
	appSpec
	version  string
	versions inline
}

// makeApps takes the catalog, then generic apps, with overrides only on
// groups that exist, pins only on rings that exist, and dependencies only
// on earlier apps that run everywhere (so no cycles and no gaps).
func makeApps(rng *rand.Rand, n int, groups []*genGroup, rings []string) []*genApp {
	haveGroup := map[string]bool{}
	for _, g := range groups {
		haveGroup[g.name] = true
	}
	var out []*genApp
	everywhere := map[string]bool{}
	for i := range n {
		var spec appSpec
		if i < len(appCatalog) {
			spec = appCatalog[i]
			spec.overrides = nil
			for _, o := range appCatalog[i].overrides {
				if haveGroup[o.group] {
					spec.overrides = append(spec.overrides, o)
				}
			}
			deps := spec.dependsOn
			spec.dependsOn = nil
			for _, d := range deps {
				if everywhere[d] {
					spec.dependsOn = append(spec.dependsOn, d)
				}
			}
		} else {
			spec = genericApp(rng, i, groups, out, everywhere)
		}
		a := &genApp{appSpec: spec, version: semver(rng)}
		if spec.pinLast && len(rings) > 1 {
			a.versions = inline{{rings[len(rings)-1], olderThan(a.version)}}
		}
		if spec.rcFirst && len(rings) > 2 {
			rc := nextMinor(a.version) + "-rc.1"
			a.versions = inline{{rings[0], rc}, {rings[1], rc}}
		}
		if spec.target == nil {
			everywhere[spec.id] = true
		}
		out = append(out, a)
	}
	return out
}

func genericApp(rng *rand.Rand, i int, groups []*genGroup, earlier []*genApp, everywhere map[string]bool) appSpec {
	num := strconv.Itoa(i)
	for len(num) < 3 {
		num = "0" + num
	}
	s := appSpec{
		id:          "app-" + num,
		description: "Synthetic app " + num,
		source:      []string{helmHTTPS, helmOCI, kustomizeGit, kustomizeOCI}[i%4],
		values:      obj{{"replicas", 1}, {"logLevel", "info"}, {"store", "${FLEETC_STORE_ID}"}},
		pinLast:     rng.IntN(5) == 0,
	}
	if s.source == kustomizeGit || s.source == kustomizeOCI {
		// A kustomize app's manifests read ${FLEETC_STORE_ID} themselves;
		// a value may embed only the bare form.
		s.values[2] = field{"store", "store-${FLEETC_STORE_ID_RAW}"}
	}
	s.namespace = s.id
	// Two overlapping overrides on some apps: the second wins where both apply.
	for range rng.IntN(3) {
		if len(groups) == 0 {
			break
		}
		g := groups[rng.IntN(len(groups))]
		s.overrides = append(s.overrides, groupValues{g.name, obj{{"logLevel", "debug"}, {"profile", g.name}}})
	}
	switch rng.IntN(4) {
	case 0:
		s.target = one("format", "In", formats[rng.IntN(len(formats))].name, "large")
	case 1:
		s.target = one("driveThruLanes", "Gt", "0")
	}
	if rng.IntN(3) == 0 {
		var cands []string
		for _, a := range earlier {
			if everywhere[a.id] {
				cands = append(cands, a.id)
			}
		}
		if len(cands) > 0 {
			s.dependsOn = []string{cands[rng.IntN(len(cands))]}
		}
	}
	return s
}

func semver(rng *rand.Rand) string {
	return strconv.Itoa(1+rng.IntN(6)) + "." + strconv.Itoa(rng.IntN(20)) + "." + strconv.Itoa(rng.IntN(10))
}

// olderThan is the previous patch or minor of a version.
func olderThan(v string) string {
	maj, min, patch := splitSemver(v)
	switch {
	case patch > 0:
		patch--
	case min > 0:
		min, patch = min-1, 9
	default:
		maj, min, patch = maj-1, 9, 9
	}
	return strconv.Itoa(maj) + "." + strconv.Itoa(min) + "." + strconv.Itoa(patch)
}

func nextMinor(v string) string {
	maj, min, _ := splitSemver(v)
	return strconv.Itoa(maj) + "." + strconv.Itoa(min+1) + ".0"
}

func splitSemver(v string) (maj, min, patch int) {
	var parts [3]int
	k := 0
	for _, c := range v {
		if c == '.' {
			k++
			continue
		}
		parts[k] = parts[k]*10 + int(c-'0')
	}
	return parts[0], parts[1], parts[2]
}

// app writes one app file body.
func (w *cueWriter) app(a *genApp) {
	var src field
	switch a.source {
	case helmHTTPS:
		src = field{"helm", obj{{"repository", "https://charts.copperleaf.example/stable"}, {"chart", a.id}}}
	case helmOCI:
		src = field{"helm", obj{{"repository", "oci://registry.copperleaf.example/charts"}, {"chart", a.id}}}
	case kustomizeGit:
		src = field{"kustomize", obj{
			{"url", "https://git.copperleaf.example/edge/" + a.id + ".git"},
			{"path", "./deploy/store"},
			{"tagPrefix", "v"},
		}}
	case kustomizeOCI:
		src = field{"kustomize", obj{{"url", "oci://registry.copperleaf.example/manifests/" + a.id}, {"path", "./"}}}
	}
	o := obj{
		{"description", a.description},
		{"namespace", a.namespace},
		{"source", obj{src}},
		{"version", a.version},
	}
	if a.versions != nil {
		o = append(o, field{"versions", a.versions})
	}
	if a.values != nil {
		o = append(o, field{"values", a.values})
	}
	w.WriteString("apps: ")
	w.label(a.id)
	w.WriteString(": {\n")
	w.fields(1, o)
	if len(a.overrides) > 0 {
		w.indent(1)
		w.WriteString("overrides: [\n")
		for _, ov := range a.overrides {
			w.indent(2)
			w.WriteString("{\n")
			w.fields(3, obj{{"group", ov.group}, {"values", ov.values}})
			w.indent(2)
			w.WriteString("},\n")
		}
		w.indent(1)
		w.WriteString("]\n")
	}
	var tail obj
	if a.target != nil {
		tail = append(tail, field{"target", a.target})
	}
	if a.dependsOn != nil {
		tail = append(tail, field{"dependsOn", a.dependsOn})
	}
	w.fields(1, tail)
	w.WriteString("}\n")
}
