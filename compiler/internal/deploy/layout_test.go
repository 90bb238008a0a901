package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLayoutOf(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string // levels, each "dir:files" units
	}{
		{"empty", nil, "[[{ 0 []}]]"},
		{"root files", []string{"a", "b"}, "[[{ 0 [0 1]}]]"},
		{
			"nested, parents without files, a sibling sorting between parent and child",
			[]string{".fleetc/state.json", "clusters/s-1/k.yaml", "clusters/s/k.yaml", "releases/pos/1.0.0-x/k.yaml", "top"},
			"[[{ 0 [4]}] [{.fleetc 1 [0]} {clusters 1 []} {releases 1 []}] [{clusters/s 2 [2]} {clusters/s-1 2 [1]} {releases/pos 2 []}] [{releases/pos/1.0.0-x 3 [3]}]]",
		},
		{"files of one directory split by a subdirectory", []string{"a/b/c/x", "a/b/d", "a/b/e"}, "[[{ 0 []}] [{a 1 []}] [{a/b 2 [1 2]}] [{a/b/c 3 [0]}]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.IsSorted(tt.paths) {
				t.Fatal("paths must be sorted")
			}
			if got := fmt.Sprint(layoutOf(tt.paths)); got != tt.want {
				t.Errorf("layoutOf(%q)\n got %s\nwant %s", tt.paths, got, tt.want)
			}
		})
	}
}

func TestCompareIndex(t *testing.T) {
	h := func(s string) fileHash { return hashOf([]byte(s)) }
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	prev := &index{written: fi.ModTime().UnixNano() + 1e9, entries: []indexEntry{
		{"a", h("1"), fileStat{}}, {"b", h("2"), statOf(fi)}, {"d", h("4"), fileStat{}}, {"f", h("6"), fileStat{}}}}
	paths := []string{"b", "c", "d", "g"}
	hashes := []fileHash{h("2"), h("3"), h("changed"), h("7")}
	tr := tree(map[string]string{"b": "2", "c": "3", "d": "changed", "g": "7"})
	fstats := make([]fileStat, len(paths))
	puts, repaired, gone, restat, err := compareIndex(dir, paths, hashes, tr, prev, fstats)
	if err != nil {
		t.Fatal(err)
	}
	var put []string
	for _, i := range puts {
		put = append(put, paths[i])
	}
	if !reflect.DeepEqual(put, []string{"c", "d", "g"}) || !reflect.DeepEqual(gone, []string{"a", "f"}) || len(repaired) != 0 || restat {
		t.Errorf("puts %v gone %v repaired %v restat %v, want [c d g] and [a f], none, false", put, gone, repaired, restat)
	}
	if fstats[0] != statOf(fi) {
		t.Errorf("stat of the unchanged file not kept: %+v", fstats[0])
	}
	if puts, _, gone, _, err := compareIndex(dir, nil, nil, tr, prev, nil); len(puts) != 0 || len(gone) != 4 || err != nil {
		t.Errorf("empty tree: puts %v gone %v %v", puts, gone, err)
	}
	// The disk is the truth: b deleted by hand is put back, as a repair.
	os.Remove(filepath.Join(dir, "b"))
	puts, repaired, _, _, err = compareIndex(dir, paths, hashes, tr, prev, fstats)
	if err != nil || len(puts) != 4 || !reflect.DeepEqual(repaired, []string{"b"}) {
		t.Errorf("after deleting b: puts %v repaired %v %v", puts, repaired, err)
	}
}

// An index out of path order (written by hand, or by another tool) is
// not trusted: Write falls back to comparing with the disk.
func TestReadIndexRejectsDisorder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Write(dir, tree(v1)); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, filepath.FromSlash(indexPath))
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if readIndex(dir) == nil {
		t.Fatal("the index Write left is not read back")
	}
	lines := strings.Split(string(data), "\n") // the stamp, 4 entries, ""
	lines[1], lines[2] = lines[2], lines[1]    // swap two entries
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if idx := readIndex(dir); idx != nil {
		t.Errorf("an unsorted index was read: %v", idx)
	}
	if stats, err := Write(dir, tree(v2)); err != nil || stats.Written != 2 || stats.Removed != 1 {
		t.Errorf("write over an unsorted index: %+v %v", stats, err)
	}
}

func TestCreateFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if _, err := createFile(name, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "one\n" {
		t.Errorf("content %q %v", b, err)
	}
	if _, err := createFile(name, []byte("two\n")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("creating an existing file: %v, want ErrExist", err)
	}
	if _, err := createFile(filepath.Join(t.TempDir(), "missing", "f"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("creating in a missing directory: %v, want ErrNotExist", err)
	}
}
