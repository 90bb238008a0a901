package load

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeStores writes n generated stores into root/inventory in files of
// perFile stores each, plus one app and one ring that reference them.
func writeStores(tb testing.TB, root string, n, perFile int) {
	tb.Helper()
	zones := []string{"America/New_York", "America/Chicago", "America/Los_Angeles", "America/Toronto"}
	for start := 0; start < n; start += perFile {
		var b strings.Builder
		b.WriteString("package fleet\n\nstores: {\n")
		for i := start; i < min(start+perFile, n); i++ {
			owner := "corporate"
			franchisee := ""
			if i%3 == 0 {
				owner = "franchise"
				franchisee = fmt.Sprintf("\n\t\t\tfranchisee: \"fr-%d\"", i%50)
			}
			fmt.Fprintf(&b, `	"s-%06d": {
		name:     "Store %d"
		geo:      "us/region-%d/st-%d"
		timezone: %q
		hours: {
			mon: {open: "07:00", close: "22:00"}
			tue: {open: "07:00", close: "22:00"}
			sat: {open: "08:00", close: "23:30"}
		}
		jurisdiction: {country: "US", region: "NY"}
		attributes: {
			owner: %q%s
			format: "standard"
			driveThruLanes: %d
			devices: ["acme3000"]
		}
		cluster: nodes: %d
	}
`, i, i, i%5, i%50, zones[i%len(zones)], owner, franchisee, i%3, 1+i%3)
		}
		b.WriteString("}\n")
		dir := filepath.Join(root, "inventory", fmt.Sprintf("r%d", start/perFile%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("stores-%06d.cue", start)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLoad loads generated stores in files of 1,000: cold (no
// cache) and warm (every file's result in the cache).
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		root := b.TempDir()
		writeStores(b, root, n, 1000)
		for _, mode := range []string{"cold", "warm"} {
			b.Run(fmt.Sprintf("stores=%d/%s", n, mode), func(b *testing.B) {
				opts := Options{Root: root}
				if mode == "warm" {
					opts.CacheDir = b.TempDir()
					if _, _, err := Load(context.Background(), opts); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for b.Loop() {
					fleet, diags, err := Load(context.Background(), opts)
					if err != nil {
						b.Fatal(err)
					}
					if len(diags) != 0 || len(fleet.Stores) != n {
						b.Fatalf("got %d stores, diagnostics:\n%v", len(fleet.Stores), diags.Err())
					}
				}
			})
		}
	}
}

// BenchmarkLoadRoot loads the tree at $FLEETC_BENCH_ROOT (e.g. written by
// fleetc gen), with the cache at $FLEETC_BENCH_CACHE when set; skipped
// otherwise. For profiling:
//
//	FLEETC_BENCH_ROOT=/tmp/f10k go test -run - -bench LoadRoot -benchtime 1x -cpuprofile cpu.out
func BenchmarkLoadRoot(b *testing.B) {
	root := os.Getenv("FLEETC_BENCH_ROOT")
	if root == "" {
		b.Skip("FLEETC_BENCH_ROOT not set")
	}
	opts := Options{Root: root, CacheDir: os.Getenv("FLEETC_BENCH_CACHE")}
	for b.Loop() {
		fleet, diags, err := Load(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(diags) != 0 {
			b.Fatalf("diagnostics:\n%v", diags.Err())
		}
		b.ReportMetric(float64(len(fleet.Stores)), "stores")
	}
}
