package main

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fleetc/fleetc/agent/report"
)

// storeID is the id of the i-th synthetic store (1-based).
func storeID(i int) string { return fmt.Sprintf("s-%05d", i) }

// agentKey is a deterministic key pair per store, derived from its id as
// compiler/internal/feedback's tests do (helpers_test.go agentKey).
func agentKey(store string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "fleetc-test-key:"+store)
	return ed25519.NewKeyFromSeed(seed)
}

// storesPerFile is how many stores one inventory file declares, like the
// files `fleetc gen` writes.
const storesPerFile = 1000

// writeFleet writes a minimal valid monorepo of n stores under dir, in the
// shape of the feedback tests' writeFleet: one app, ring lab (the first
// two stores) and ring chain (the rest), every store declaring its agent
// public key. It returns the stores' private keys, index i-1 for store i.
func writeFleet(dir string, n int) ([]ed25519.PrivateKey, error) {
	keys := make([]ed25519.PrivateKey, n)
	files := map[string]string{
		"fleet.cue": "package fleet\n\nsettings: deployRepoSource: \"flux-system\"\n",
		"rings/rings.cue": fmt.Sprintf(`package fleet

rings: {
	lab: {order: 0, stores: [%[1]s], bakeTime: "1h", successThreshold: 1.0, failureBudget: 0}
	chain: {order: 1, selector: terms: [{match: [{key: "id", operator: "NotIn", values: [%[1]s]}]}], bakeTime: "1h", successThreshold: 1.0, failureBudget: 0}
}
`, labStores(n)),
		"apps/pos.cue": "package fleet\n\napps: pos: {\n\tversion: \"1.0.0\"\n\tnamespace: \"pos\"\n\tsource: helm: {repository: \"https://charts.example.com\", chart: \"pos\"}\n}\n",
	}
	for first := 1; first <= n; first += storesPerFile {
		last := min(first+storesPerFile-1, n)
		var b strings.Builder
		b.WriteString("package fleet\n\n_hours: {mon: {open: \"06:00\", close: \"22:00\"}}\n\nstores: {\n")
		for i := first; i <= last; i++ {
			id := storeID(i)
			keys[i-1] = agentKey(id)
			fmt.Fprintf(&b, "\t%q: {\n\t\tname: \"Store %d\"\n\t\tgeo: \"us/east\"\n\t\ttimezone: \"UTC\"\n\t\thours: _hours\n\t\tjurisdiction: country: \"US\"\n\t\tattributes: owner: \"corporate\"\n", id, i)
			fmt.Fprintf(&b, "\t\tagent: publicKey: %q\n\t}\n", report.FormatPublicKey(keys[i-1].Public().(ed25519.PublicKey)))
		}
		b.WriteString("}\n")
		files[fmt.Sprintf("inventory/stores/s-%03d.cue", (first-1)/storesPerFile)] = b.String()
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func labStores(n int) string {
	var lab []string
	for i := 1; i <= min(2, n); i++ {
		lab = append(lab, fmt.Sprintf("%q", storeID(i)))
	}
	return strings.Join(lab, ", ")
}
