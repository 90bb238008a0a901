package render

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// Fleet scale: 60,000 stores × 20 apps, 100 variants. Run once:
//
//	go test ./compiler/internal/render -run XXX -bench . -benchtime=1x
const benchStores, benchApps, benchVariants = 60000, 20, 100

func benchFacts(id string) StoreVars {
	return StoreVars{Name: "Store " + id, Timezone: "America/New_York"}
}

func BenchmarkRender(b *testing.B) {
	st := syntheticState(benchStores, benchApps, benchVariants)
	b.ResetTimer()
	var tr *deploy.Tree
	for b.Loop() {
		var err error
		if tr, err = Render(context.Background(), st, benchFacts, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportTree(b, tr)
	start := time.Now()
	if d := Check(tr); d.HasErrors() {
		b.Fatal(d)
	}
	b.ReportMetric(time.Since(start).Seconds(), "check-s")
}

func BenchmarkWrite(b *testing.B) {
	st := syntheticState(benchStores, benchApps, benchVariants)
	tr, err := Render(context.Background(), st, benchFacts, Options{})
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "deploy")
	b.ResetTimer()
	var stats deploy.WriteStats
	for b.Loop() {
		if stats, err = deploy.Write(dir, tr); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(stats.Files), "files")
	b.ReportMetric(float64(stats.Bytes), "bytes")
	b.ReportMetric(float64(stats.Unchanged), "unchanged")
	// Rewriting the same tree: every file is linked, none written.
	start := time.Now()
	if stats, err = deploy.Write(dir, tr); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "rewrite-s")
	b.ReportMetric(float64(stats.Unchanged), "rewrite-unchanged")
}

func reportTree(b *testing.B, tr *deploy.Tree) {
	b.ReportMetric(float64(len(tr.Files)), "files")
	b.ReportMetric(float64(tr.Bytes()), "bytes")
	b.ReportMetric(float64(len(tr.Files[deploy.StatePath])), "state-bytes")
}
