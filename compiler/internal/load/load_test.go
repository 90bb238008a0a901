package load

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// extract writes an archive's files (all but "want") into a new directory.
func extract(t *testing.T, ar *txtar.Archive) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range ar.Files {
		if f.Name == "want" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// render prints diagnostics one a line as "code file:line:col: path: message".
func render(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.Code + " " + d.String() + "\n")
	}
	return b.String()
}

func loadArchive(t *testing.T, name string) (*txtar.Archive, *model.Fleet, diag.List) {
	t.Helper()
	ar, err := txtar.ParseFile(name)
	if err != nil {
		t.Fatal(err)
	}
	fleet, diags, err := Load(context.Background(), Options{Root: extract(t, ar), Workers: 2})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return ar, fleet, diags
}

// TestFixtures loads every testdata/*.txtar and compares the diagnostics
// with its want section, positions included. go test -update rewrites
// the want sections.
func TestFixtures(t *testing.T) {
	names, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".txtar"), func(t *testing.T) {
			ar, _, diags := loadArchive(t, name)
			got := render(diags)
			i := -1
			for j, f := range ar.Files {
				if f.Name == "want" {
					i = j
				}
			}
			if i < 0 {
				t.Fatal("fixture has no want section")
			}
			if *update {
				ar.Files[i].Data = []byte(got)
				if err := os.WriteFile(name, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(ar.Files[i].Data); got != want {
				t.Errorf("diagnostics differ\ngot:\n%swant:\n%s", got, want)
			}
		})
	}
}
