package gen

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/schemas"
)

// fleetFile is one fleet file decoded through the model's JSON names.
type fleetFile struct {
	Settings  *model.Settings            `json:"settings"`
	Stores    map[string]*model.Store    `json:"stores"`
	Groups    map[string]*model.Group    `json:"groups"`
	Apps      map[string]*model.App      `json:"apps"`
	Rings     map[string]*model.Ring     `json:"rings"`
	Freezes   map[string]*model.Freeze   `json:"freezes"`
	Overrides map[string]*model.Override `json:"overrides"`
	Teams     map[string]*model.Team     `json:"teams"`
}

// fileSchema compiles #File from the embedded schemas.
func fileSchema(t testing.TB, ctx *cue.Context) cue.Value {
	t.Helper()
	src, err := fs.ReadFile(schemas.FS, "fleet.cue")
	if err != nil {
		t.Fatal(err)
	}
	v := ctx.CompileBytes(src, cue.Filename("schemas/fleet.cue"))
	if v.Err() != nil {
		t.Fatalf("compile schema: %v", v.Err())
	}
	def := v.LookupPath(cue.ParsePath("#File"))
	if !def.Exists() {
		t.Fatal("schema has no #File")
	}
	return def
}

// checkFile compiles one fleet file alone, unifies it with #File and
// decodes it; the error lists every problem with its position.
func checkFile(ctx *cue.Context, def cue.Value, name string, src []byte) (*fleetFile, error) {
	v := ctx.CompileBytes(src, cue.Filename(name))
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("%s", errors.Details(err, nil))
	}
	u := def.Unify(v)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		return nil, fmt.Errorf("%s", errors.Details(err, nil))
	}
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", name, err)
	}
	var f fleetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return &f, nil
}

// loadTree validates every fleet file under root (fleet.cue, inventory/,
// apps/, rings/), each on its own, and merges them into a model.Fleet.
// Files that are not `cue fmt` clean are reported too.
func loadTree(t testing.TB, root string) *model.Fleet {
	t.Helper()
	var files []string
	if _, err := os.Stat(filepath.Join(root, "fleet.cue")); err == nil {
		files = append(files, filepath.Join(root, "fleet.cue"))
	}
	for _, dir := range []string{"inventory", "apps", "rings"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".cue") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", dir, err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no fleet files under %s", root)
	}
	ctx := cuecontext.New()
	def := fileSchema(t, ctx)
	fl := &model.Fleet{}
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(string(src), "// ") {
			t.Errorf("%s: no comment at the top saying what the file shows", rel)
		}
		if formatted, err := format.Source(src); err != nil {
			t.Errorf("%s: format: %v", rel, err)
		} else if string(formatted) != string(src) {
			t.Errorf("%s: not cue fmt clean; want:\n%s", rel, firstDiff(string(src), string(formatted)))
		}
		f, err := checkFile(ctx, def, rel, src)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		merge(t, fl, rel, f)
	}
	fl.Index()
	return fl
}

func merge(t testing.TB, fl *model.Fleet, name string, f *fleetFile) {
	t.Helper()
	if f.Settings != nil {
		fl.Settings = *f.Settings
	}
	for _, k := range sortedKeys(f.Stores) {
		fl.Stores = append(fl.Stores, f.Stores[k])
	}
	for _, k := range sortedKeys(f.Groups) {
		fl.Groups = append(fl.Groups, f.Groups[k])
	}
	for _, k := range sortedKeys(f.Apps) {
		fl.Apps = append(fl.Apps, f.Apps[k])
	}
	for _, k := range sortedKeys(f.Rings) {
		fl.Rings = append(fl.Rings, f.Rings[k])
	}
	for _, k := range sortedKeys(f.Freezes) {
		fl.Freezes = append(fl.Freezes, f.Freezes[k])
	}
	for _, k := range sortedKeys(f.Overrides) {
		fl.Overrides = append(fl.Overrides, f.Overrides[k])
	}
	for _, k := range sortedKeys(f.Teams) {
		fl.Teams = append(fl.Teams, f.Teams[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstDiff shows the formatted text around the first differing line.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			lo, hi := max(0, i-2), min(len(w), i+3)
			return fmt.Sprintf("line %d: got %q\n%s", i+1, g[i], strings.Join(w[lo:hi], "\n"))
		}
	}
	return fmt.Sprintf("length differs: %d vs %d lines", len(g), len(w))
}
