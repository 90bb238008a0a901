package load

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gen"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// generated writes a small generated fleet (with its own schemas/) and
// returns its root.
func generated(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if _, err := gen.Generate(root, gen.Options{Stores: 300, Apps: 8, Seed: 3, StoresPerFile: 100}); err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCounting loads root and returns how many files were evaluated.
func loadCounting(t *testing.T, root, cacheDir string) (*model.Fleet, diag.List, int64) {
	t.Helper()
	before := evaluations.Load()
	fleet, diags, err := Load(context.Background(), Options{Root: root, CacheDir: cacheDir, Workers: 2})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return fleet, diags, evaluations.Load() - before
}

func sameLoad(t *testing.T, what string, f1, f2 *model.Fleet, d1, d2 diag.List) {
	t.Helper()
	if !reflect.DeepEqual(d1, d2) {
		t.Errorf("%s: diagnostics differ\n%s\nvs\n%s", what, render(d1), render(d2))
	}
	if !reflect.DeepEqual(f1, f2) {
		t.Errorf("%s: fleets differ", what)
	}
}

// TestCacheWarmEqualsCold loads each tree without a cache, cold into an
// empty cache and warm from it: all three must be deep-equal, fleet and
// diagnostics, and the warm load must evaluate nothing. The fixtures
// bring files with errors (cached with their diagnostics).
func TestCacheWarmEqualsCold(t *testing.T) {
	roots := map[string]string{"sample": "../../..", "generated": generated(t)}
	names, _ := filepath.Glob("testdata/*.txtar")
	for _, name := range names {
		ar, err := txtar.ParseFile(name)
		if err != nil {
			t.Fatal(err)
		}
		roots[strings.TrimSuffix(filepath.Base(name), ".txtar")] = extract(t, ar)
	}
	for name, root := range roots {
		t.Run(name, func(t *testing.T) {
			files, err := Files(root)
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			plain, plainDiags, n0 := loadCounting(t, root, "")
			cold, coldDiags, n1 := loadCounting(t, root, cache)
			warm, warmDiags, n2 := loadCounting(t, root, cache)
			if n0 != int64(len(files)) || n1 != int64(len(files)) || n2 != 0 {
				t.Errorf("evaluations without cache, cold, warm = %d, %d, %d; want %d, %[4]d, 0", n0, n1, n2, len(files))
			}
			sameLoad(t, "cold vs uncached", cold, plain, coldDiags, plainDiags)
			sameLoad(t, "warm vs cold", warm, cold, warmDiags, coldDiags)
			if name == "sample" && (len(warm.Stores) != 49 || len(warmDiags) != 0) {
				t.Errorf("sample: %d stores, %d diagnostics", len(warm.Stores), len(warmDiags))
			}
		})
	}
}

// TestCacheOneFileChanged changes one byte of one store file: only that
// file is evaluated again, and the change shows.
func TestCacheOneFileChanged(t *testing.T) {
	root := generated(t)
	cache := t.TempDir()
	before, _, n := loadCounting(t, root, cache)
	if n < 4 {
		t.Fatalf("generated fleet has %d files; want several", n)
	}
	files, err := filepath.Glob(filepath.Join(root, "inventory", "stores", "*.cue"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no store files: %v", err)
	}
	src, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(src, []byte(`name:     "`))
	if i < 0 {
		t.Fatalf("no store name in %s", files[0])
	}
	i += len(`name:     "`)
	src[i] = 'Q' // one byte
	if err := os.WriteFile(files[0], src, 0o644); err != nil {
		t.Fatal(err)
	}
	fleet, diags, n := loadCounting(t, root, cache)
	if n != 1 || len(diags) != 0 {
		t.Fatalf("after a one-byte change: %d evaluations, diagnostics:\n%s", n, render(diags))
	}
	changed := 0
	for i, s := range fleet.Stores {
		if s.Name != before.Stores[i].Name {
			changed++
			if !strings.HasPrefix(s.Name, "Q") {
				t.Errorf("store %s is now named %q", s.ID, s.Name)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d stores renamed, want the one changed", changed)
	}
	plain, plainDiags, _ := loadCounting(t, root, "")
	sameLoad(t, "partly warm vs uncached", fleet, plain, diags, plainDiags)
}

// TestCacheSchemaChanged: any change to the schema module invalidates
// every entry, even one that leaves validation alone (a comment).
func TestCacheSchemaChanged(t *testing.T) {
	root := generated(t)
	cache := t.TempDir()
	_, _, total := loadCounting(t, root, cache)
	p := filepath.Join(root, "schemas", "fleet.cue")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(src, "// changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, n := loadCounting(t, root, cache); n != total {
		t.Errorf("after a schema change: %d evaluations, want all %d", n, total)
	}
	if _, _, n := loadCounting(t, root, cache); n != 0 {
		t.Errorf("again: %d evaluations, want 0", n)
	}
}

// TestCacheCorruptEntries damages every entry in a different way: each is
// a miss, evaluated again, rewritten, and the result is unchanged.
func TestCacheCorruptEntries(t *testing.T) {
	root := generated(t)
	cache := t.TempDir()
	want, wantDiags, total := loadCounting(t, root, cache)
	var entries []string
	err := filepath.WalkDir(filepath.Join(cache, "load"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			entries = append(entries, p)
		}
		return err
	})
	if err != nil || int64(len(entries)) != total {
		t.Fatalf("%d cache entries for %d files: %v", len(entries), total, err)
	}
	damage := []struct {
		name string
		f    func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"payload bit flipped", func(b []byte) []byte { b[len(b)-3] ^= 0x10; return b }},
		{"checksum bit flipped", func(b []byte) []byte { b[len(cacheMagic)+40] ^= 1; return b }},
		{"key of another entry", func(b []byte) []byte { b[len(cacheMagic)] ^= 1; return b }},
		{"empty", func([]byte) []byte { return nil }},
		{"garbage", func([]byte) []byte { return []byte("not a cache entry") }},
	}
	for i, p := range entries {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, damage[i%len(damage)].f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, gotDiags, n := loadCounting(t, root, cache)
	if n != total {
		t.Errorf("with damaged entries: %d evaluations, want %d", n, total)
	}
	sameLoad(t, "after damage", got, want, gotDiags, wantDiags)
	if _, _, n := loadCounting(t, root, cache); n != 0 {
		t.Errorf("entries not rewritten: %d evaluations", n)
	}
}

// TestCacheConcurrentLoads runs loads sharing one cache directory at once
// (run with -race); every one sees the same fleet.
func TestCacheConcurrentLoads(t *testing.T) {
	root := generated(t)
	want, wantDiags, _ := loadCounting(t, root, "")
	cache := t.TempDir()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			got, diags, err := Load(context.Background(), Options{Root: root, CacheDir: cache, Workers: 2})
			if err != nil {
				t.Errorf("Load: %v", err)
				return
			}
			sameLoad(t, "concurrent", got, want, diags, wantDiags)
		})
	}
	wg.Wait()
	leftovers, _ := filepath.Glob(filepath.Join(cache, "load", "*", ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// TestCacheUnwritable: a cache directory that cannot be created costs
// only time.
func TestCacheUnwritable(t *testing.T) {
	root := generated(t)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want, wantDiags, _ := loadCounting(t, root, "")
	got, diags, _ := loadCounting(t, root, filepath.Join(blocker, "cache"))
	sameLoad(t, "unwritable cache", got, want, diags, wantDiags)
}

// FuzzDecodeResult: no input makes the cache decoder panic or allocate
// beyond its input, and whatever decodes re-encodes to the same bytes.
func FuzzDecodeResult(f *testing.F) {
	f.Add(encodeResult(&fileResult{File: "a.cue"}))
	r := fileResult{File: "inventory/x.cue", Stores: []*model.Store{{ID: "s1", Hours: map[string]model.DayHours{},
		Attributes: model.Attributes{Devices: []string{}, Labels: map[string]string{"a": "b"}},
		Values:     map[string]map[string]any{"pos": {"n": 1.5, "l": []any{"x", nil}}}, Pos: diag.Pos{File: "f", Line: 2, Col: 3}}},
		Diags: diag.List{{Pos: diag.Pos{File: "f", Line: 1}, Code: "schema", Message: "m", Related: []diag.Pos{{File: "g"}}}}}
	f.Add(encodeResult(&r))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResult(b)
		if err != nil {
			return
		}
		// Free-form values are JSON inside; their bytes may be spelt
		// differently, so compare decoded values.
		again, err := decodeResult(encodeResult(&r))
		if err != nil {
			t.Fatalf("re-encoded result does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip changed the result:\n%#v\n%#v", r, again)
		}
	})
}

// TestCodecKeepsWhatJSONLoses checks the cases the cache exists to keep:
// nil versus empty, positions, refs and json.Number values.
func TestCodecKeepsWhatJSONLoses(t *testing.T) {
	in := fileResult{
		File: "inventory/a.cue",
		Stores: []*model.Store{{ID: "a", Hours: map[string]model.DayHours{}, Attributes: model.Attributes{
			Devices: []string{}, Languages: nil, Labels: map[string]string{}},
			Values: map[string]map[string]any{"pos": {"big": json.Number("9007199254740993"), "nested": map[string]any{}, "list": []any{}, "nil": nil}},
			Pos:    diag.Pos{File: "inventory/a.cue", Line: 3, Col: 2},
			Refs:   []model.Ref{{Kind: model.RefApp, Name: "pos", Path: `stores.a.values.pos`, Pos: diag.Pos{File: "inventory/a.cue", Line: 9, Col: 4}}}}},
		Settings:     &model.Settings{DeployRepoSource: "x", Window: model.WindowDefaults{AfterClose: 90, BeforeOpen: -1}},
		RingOrderPos: map[string]diag.Pos{"canary": {File: "r.cue", Line: 1, Col: 1}},
		Invalid:      []entityKey{{model.RefStore, "b"}},
	}
	out, err := decodeResult(encodeResult(&in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", out, in)
	}
	if out.Stores[0].Attributes.Devices == nil || out.Stores[0].Attributes.Languages != nil {
		t.Errorf("nil/empty slices not kept: %#v", out.Stores[0].Attributes)
	}
}
