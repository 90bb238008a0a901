package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// The anchors must work on the sample fleet, or the benchmark compares
// fleetc against something that fails.
func TestCUEWholeSample(t *testing.T) {
	n, err := CUEWhole(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if n < 10000 {
		t.Errorf("exported %d bytes; the sample fleet is larger than that", n)
	}
}

func TestOPANaiveSample(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	f, diags, err := load.Load(context.Background(), load.Options{Root: root})
	if err != nil || diags.HasErrors() {
		t.Fatalf("load: %v %v", err, diags.Err())
	}
	tr, diags := target.Resolve(context.Background(), f, target.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	r, err := OPANaive(context.Background(), root, tr, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), 50)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampled != 50 || r.Pairs != 301 || r.PerPair <= 0 || r.Total != r.PerPair*301 {
		t.Errorf("got %+v, want 50 sampled of 301 pairs with a positive cost", r)
	}
}

func TestKustomizePerStoreSample(t *testing.T) {
	r, err := KustomizePerStore(filepath.Join("..", "..", "testdata", "golden", "sample"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampled != 5 || r.Stores != 49 || r.Total != r.PerStore*49 {
		t.Errorf("got %+v, want 5 of 49 stores", r)
	}
}
