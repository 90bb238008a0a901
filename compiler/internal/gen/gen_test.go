package gen

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/policies"
	"github.com/fleetc/fleetc/schemas"
)

// TestGenerateValid generates a small fleet and loads it the way fleetc
// does: every file alone against #File, then checks references and that
// the CUE ring rule, evaluated in Go, puts each store in exactly the ring
// the generator chose.
func TestGenerateValid(t *testing.T) {
	opts := Options{Stores: 300, Apps: 8, Seed: 7, StoresPerFile: 100}
	dir := t.TempDir()
	st, err := Generate(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	fl := loadTree(t, dir)
	if t.Failed() {
		t.FailNow()
	}
	checkReferences(t, fl)

	if len(fl.Stores) != 300 || len(fl.Apps) != 8 || len(fl.Rings) != 5 || len(fl.Groups) != 31 {
		t.Errorf("loaded %d stores, %d apps, %d rings, %d groups; want 300, 8, 5, 31",
			len(fl.Stores), len(fl.Apps), len(fl.Rings), len(fl.Groups))
	}
	if st.Stores != 300 || st.Apps != 8 || st.Rings != 5 || st.Groups != 31 {
		t.Errorf("stats = %+v", st)
	}
	wantSizes := []RingSize{{"lab", 1}, {"canary", 3}, {"pilot", 15}, {"wave-1", 45}, {"chain", 236}}
	if !equalSizes(st.RingSizes, wantSizes) {
		t.Errorf("ring sizes = %v, want %v", st.RingSizes, wantSizes)
	}
	checkRings(t, opts, fl)

	// 300 stores in 100-store files, split by area: more than 3 files.
	files := 0
	filepath.WalkDir(filepath.Join(dir, "inventory", "stores"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files < 4 {
		t.Errorf("store files = %d, want at least 4", files)
	}
	// The schemas and policies are byte copies of the embedded ones.
	for _, c := range []struct {
		sub  string
		fsys fs.FS
	}{{"schemas", schemas.FS}, {"policies", policies.FS}} {
		n := 0
		err := fs.WalkDir(c.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			want, _ := fs.ReadFile(c.fsys, p)
			got, err := os.ReadFile(filepath.Join(dir, c.sub, filepath.FromSlash(p)))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s is not a copy of the embedded file (%v)", c.sub, p, err)
			}
			n++
			return nil
		})
		if err != nil || n == 0 {
			t.Errorf("%s: %d files, %v", c.sub, n, err)
		}
	}

	// What the fleet is meant to contain.
	zones, regions := map[string]int{}, map[string]int{}
	for _, s := range fl.Stores {
		zones[s.Timezone]++
		regions[s.Jurisdiction.Region]++
	}
	for _, tz := range []string{"America/Phoenix", "America/Toronto", "America/Chicago", "America/New_York", "America/Los_Angeles"} {
		if zones[tz] == 0 {
			t.Errorf("no store in %s", tz)
		}
	}
	for _, r := range []string{"IL", "QC"} {
		if regions[r] == 0 {
			t.Errorf("no store in %s", r)
		}
	}
	pos := fl.AppByID["pos"]
	if pos == nil || len(pos.Overrides) < 2 || pos.Versions["chain"] == "" {
		t.Errorf("pos = %+v, want overrides and a chain pin", pos)
	}
	if kd := fl.AppByID["kitchen-display"]; kd == nil || len(kd.DependsOn) != 1 || kd.DependsOn[0] != "mqtt-bridge" {
		t.Errorf("kitchen-display = %+v, want dependsOn mqtt-bridge", kd)
	}
}

// checkRings compares each store's ring from the CUE rule with the plan.
func checkRings(t *testing.T, opts Options, fl *model.Fleet) {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := newPlan(opts)
	rings := ringOf(t, fl)
	for _, s := range p.stores {
		want := p.rings[s.ring].name
		if got := rings[s.id]; len(got) != 1 || got[0] != want {
			t.Errorf("store %s is in rings %v, want [%s]", s.id, got, want)
		}
	}
	if len(rings) != len(p.stores) {
		t.Errorf("%d stores have rings, want %d", len(rings), len(p.stores))
	}
}

func equalSizes(a, b []RingSize) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGenerateRingCounts(t *testing.T) {
	cases := []struct {
		name  string
		rings int
		want  []string
	}{
		{"one", 1, []string{"chain"}},
		{"two", 2, []string{"lab", "chain"}},
		{"three", 3, []string{"lab", "canary", "chain"}},
		{"four", 4, []string{"lab", "canary", "pilot", "chain"}},
		{"seven", 7, []string{"lab", "canary", "pilot", "wave-1", "wave-2", "wave-3", "chain"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Stores: 120, Apps: 3, Rings: tc.rings, Groups: 8, Seed: 3}
			dir := t.TempDir()
			st, err := Generate(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			total := 0
			for _, r := range st.RingSizes {
				names = append(names, r.Name)
				total += r.Stores
			}
			if !equalStrings(names, tc.want) || total != 120 {
				t.Errorf("rings = %v (total %d), want %v (120)", st.RingSizes, total, tc.want)
			}
			fl := loadTree(t, dir)
			if t.Failed() {
				t.FailNow()
			}
			checkReferences(t, fl)
			if len(fl.Groups) != st.Groups {
				t.Errorf("groups loaded %d, stats %d", len(fl.Groups), st.Groups)
			}
			checkRings(t, opts, fl)
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGenerateDeterministic(t *testing.T) {
	opts := Options{Stores: 500, Apps: 25, Groups: 40, Seed: 42, StoresPerFile: 120}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	if _, err := Generate(a, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(b, opts); err != nil {
		t.Fatal(err)
	}
	opts.Seed = 43
	if _, err := Generate(c, opts); err != nil {
		t.Fatal(err)
	}
	ta, tb, tc := readTree(t, a), readTree(t, b), readTree(t, c)
	if len(ta) == 0 || len(ta) != len(tb) {
		t.Fatalf("trees have %d and %d files", len(ta), len(tb))
	}
	for p, content := range ta {
		if !bytes.Equal(content, tb[p]) {
			t.Errorf("%s differs between two runs with the same seed", p)
		}
	}
	if bytes.Equal(ta["rings/rings.cue"], tc["rings/rings.cue"]) {
		t.Error("seeds 42 and 43 gave the same rings/rings.cue")
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateOptions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fleet.cue"), []byte("package fleet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, Options{Stores: 10}); !errors.Is(err, ErrExists) {
		t.Errorf("existing fleet.cue: err = %v, want ErrExists", err)
	}
	if _, err := Generate(t.TempDir(), Options{Stores: 0}); err == nil {
		t.Error("zero stores: no error")
	}
	if _, err := Generate(t.TempDir(), Options{Stores: 5, Apps: -1}); err == nil {
		t.Error("negative apps: no error")
	}
	// An unrelated entry such as .git does not stop generation.
	dir = t.TempDir()
	os.Mkdir(filepath.Join(dir, ".git"), 0o755)
	st, err := Generate(dir, Options{Stores: 1, Apps: 0, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Stores != 1 || st.Apps != 0 || st.RingSizes[0] != (RingSize{"lab", 1}) {
		t.Errorf("stats = %+v", st)
	}
}

func BenchmarkGenerate10k(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		if _, err := Generate(dir, Options{Stores: 10000, Apps: 20, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
