package deploy

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readTree reads every regular file under dir except .git.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func tree(files map[string]string) *Tree {
	t := NewTree(len(files))
	for p, c := range files {
		t.Files[p] = []byte(c)
	}
	return t
}

// leftovers lists staging or old-tree directories next to dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".fleetc-") {
			out = append(out, e.Name())
		}
	}
	return out
}

var v1 = map[string]string{
	"clusters/a/fleet.yaml":                   "a1\n",
	"clusters/b/fleet.yaml":                   "b1\n",
	"releases/pos/1.0.0-x/kustomization.yaml": "k\n",
	".fleetc/state.json":                      "{}\n",
}

func TestWriteNewAndReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy", "repo") // parents do not exist yet
	stats, err := Write(dir, tree(v1))
	if err != nil {
		t.Fatal(err)
	}
	if stats != (WriteStats{Files: 4, Bytes: 11, Unchanged: 0}) {
		t.Errorf("first write stats %+v", stats)
	}
	if got := readTree(t, dir); !maps.Equal(got, v1) {
		t.Errorf("tree %v, want %v", got, v1)
	}

	// A .git directory (the deploy repo checkout) survives the swap.
	os.MkdirAll(filepath.Join(dir, ".git", "refs"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)

	v2 := map[string]string{ // store b removed, a changed, c added
		"clusters/a/fleet.yaml":                   "a2\n",
		"clusters/c/fleet.yaml":                   "c1\n",
		"releases/pos/1.0.0-x/kustomization.yaml": "k\n",
		".fleetc/state.json":                      "{}\n",
	}
	stats, err = Write(dir, tree(v2))
	if err != nil {
		t.Fatal(err)
	}
	if stats != (WriteStats{Files: 4, Bytes: 11, Unchanged: 2}) {
		t.Errorf("second write stats %+v", stats)
	}
	if got := readTree(t, dir); !maps.Equal(got, v2) {
		t.Errorf("tree %v, want %v", got, v2)
	}
	if _, err := os.Stat(filepath.Join(dir, "clusters", "b")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removed store's directory still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err != nil || string(b) != "ref: refs/heads/main\n" {
		t.Errorf(".git/HEAD after write: %q, %v", b, err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
}

func TestWriteFailureKeepsOldTree(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		hook  func(step string) error
	}{
		{"file name too long", map[string]string{
			"clusters/a/fleet.yaml":                                "new\n",
			"clusters/" + strings.Repeat("x", 300) + "/fleet.yaml": "boom\n",
		}, nil},
		{"swap fails moving the old tree", map[string]string{"clusters/a/fleet.yaml": "new\n"},
			func(step string) error {
				if step == "move-old" {
					return errors.New("injected")
				}
				return nil
			}},
		{"swap fails moving the new tree in", map[string]string{"clusters/a/fleet.yaml": "new\n"},
			func(step string) error {
				if step == "move-new" {
					return errors.New("injected")
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := Write(dir, tree(v1)); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
			os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("x\n"), 0o644)

			swapHook = tt.hook
			defer func() { swapHook = nil }()
			if _, err := Write(dir, tree(tt.files)); err == nil {
				t.Fatal("Write succeeded")
			}
			if got := readTree(t, dir); !maps.Equal(got, v1) {
				t.Errorf("old tree changed: %v", got)
			}
			if b, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err != nil || string(b) != "x\n" {
				t.Errorf(".git not in place: %q %v", b, err)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("leftovers: %v", l)
			}
		})
	}
}

func TestWriteRejectsBadTrees(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"file and directory": {"a": "1", "a/b": "2"},
		"inside .git":        {".git/config": "x"},
		"escapes":            {"../x": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := Write(dir, tree(files)); err == nil {
				t.Error("no error")
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dir created: %v", err)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("leftovers: %v", l)
			}
		})
	}
}

// A Write that crashed after renaming the old tree away is recovered by
// the next one: the old tree and its .git come back, then the new tree
// replaces it.
func TestWriteRecoversCrash(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "repo")
	if _, err := Write(dir, tree(v1)); err != nil {
		t.Fatal(err)
	}
	// Simulate the crash: .git moved into staging, old tree renamed away.
	staging := filepath.Join(parent, ".repo"+stagingMark+"123")
	os.MkdirAll(filepath.Join(staging, ".git"), 0o755)
	os.WriteFile(filepath.Join(staging, ".git", "HEAD"), []byte("kept\n"), 0o644)
	os.Rename(dir, filepath.Join(parent, ".repo"+oldMark+"123"))

	v3 := map[string]string{"clusters/a/fleet.yaml": "a1\n"}
	stats, err := Write(dir, tree(v3))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Unchanged != 1 {
		t.Errorf("recovered tree not used as previous: %+v", stats)
	}
	if got := readTree(t, dir); !maps.Equal(got, v3) {
		t.Errorf("tree %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); string(b) != "kept\n" {
		t.Errorf(".git not recovered: %q", b)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
}

func TestWriteOntoFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	os.WriteFile(dir, []byte("x"), 0o644)
	if _, err := Write(dir, tree(v1)); err == nil {
		t.Error("writing over a regular file: no error")
	}
}

func TestTreePaths(t *testing.T) {
	tr := tree(v1)
	if !slices.IsSorted(tr.Paths()) || len(tr.Paths()) != 4 || tr.Bytes() != 11 {
		t.Errorf("Paths %v Bytes %d", tr.Paths(), tr.Bytes())
	}
}
