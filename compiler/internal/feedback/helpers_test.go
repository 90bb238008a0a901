package feedback

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/compiler/internal/testenv"
	"github.com/fleetc/fleetc/compiler/internal/testenv/pgtest"
)

var pg *pgtest.Postgres
var pgErr error

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(collectorChild())
	}
	pg, pgErr = pgtest.Start()
	code := m.Run()
	if pg != nil {
		pg.Stop()
	}
	os.Exit(code)
}

// forEachDB runs f on SQLite and on PostgreSQL; on a machine without
// PostgreSQL the SQLite half still runs and the test is marked skipped
// at the end.
func forEachDB(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	all := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "feedback.db")}
	if pg != nil {
		dsn, err := pg.NewDatabase(strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_"))
		if err != nil {
			t.Fatal(err)
		}
		all["postgres"] = dsn
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dsn, ok := all[kind]
			if !ok {
				if os.Getenv(pgtest.RequireEnv) != "" {
					t.Fatalf("%s is set but PostgreSQL did not start: %v", pgtest.RequireEnv, pgErr)
				}
				testenv.Skip(t, "feedback collector on PostgreSQL", "apt-get install postgresql", fmt.Sprintf("no PostgreSQL: %v", pgErr))
			}
			f(t, dsn)
		})
	}
}

// agentKey is a deterministic key pair per store, as fleetc-agent would
// make one on the store.
func agentKey(store string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "fleetc-test-key:"+store)
	return ed25519.NewKeyFromSeed(seed)
}

func pubText(store string) string {
	return report.FormatPublicKey(agentKey(store).Public().(ed25519.PublicKey))
}

// mkReport is a valid report of store at seq: one app at version on
// revision rev, Ready.
func mkReport(store string, seq uint64, at time.Time, version, rev string) *report.Report {
	return &report.Report{Schema: report.Schema, Store: store, Seq: seq, At: at.UTC(), Nodes: report.Nodes{Total: 1, Ready: 1},
		Apps: map[string]report.App{"pos": {Version: version, Variant: version + "-0123456789", Revision: rev, Ready: "true", Reason: "ReconciliationSucceeded"}}}
}

func body(t testing.TB, r *report.Report) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFleet writes a small valid monorepo under dir: stores s-0001..s-000n
// (the first two in ring lab, the rest in chain), each declaring the test
// key of its id except those in noKey.
func writeFleet(t testing.TB, dir string, n int, noKey ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("package fleet\n\n_hours: {mon: {open: \"06:00\", close: \"22:00\"}}\n\nstores: {\n")
	var lab []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("s-%04d", i)
		if i <= 2 {
			lab = append(lab, fmt.Sprintf("%q", id))
		}
		fmt.Fprintf(&b, "\t%q: {\n\t\tname: \"Store %d\"\n\t\tgeo: \"us/east\"\n\t\ttimezone: \"UTC\"\n\t\thours: _hours\n\t\tjurisdiction: country: \"US\"\n\t\tattributes: owner: \"corporate\"\n", id, i)
		skip := false
		for _, s := range noKey {
			skip = skip || s == id
		}
		if !skip {
			fmt.Fprintf(&b, "\t\tagent: publicKey: %q\n", pubText(id))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	files := map[string]string{
		"fleet.cue":              "package fleet\n\nsettings: deployRepoSource: \"flux-system\"\n",
		"inventory/stores/s.cue": b.String(),
		"rings/rings.cue":        fmt.Sprintf("package fleet\n\nrings: {\n\tlab: {order: 0, stores: [%s], bakeTime: \"1h\", successThreshold: 1.0, failureBudget: 0}\n\tchain: {order: 1, selector: terms: [{match: [{key: \"id\", operator: \"NotIn\", values: [%s]}]}], bakeTime: \"1h\", successThreshold: 1.0, failureBudget: 0}\n}\n", strings.Join(lab, ", "), strings.Join(lab, ", ")),
		"apps/pos.cue":           "package fleet\n\napps: pos: {\n\tversion: \"1.0.0\"\n\tnamespace: \"pos\"\n\tsource: helm: {repository: \"https://charts.example.com\", chart: \"pos\"}\n}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
