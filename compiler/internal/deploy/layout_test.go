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
	prev := []indexEntry{{"a", h("1")}, {"b", h("2")}, {"d", h("4")}, {"f", h("6")}}
	paths := []string{"b", "c", "d", "g"}
	hashes := []fileHash{h("2"), h("3"), h("changed"), h("7")}
	puts, gone := compareIndex(paths, hashes, prev)
	var put []string
	for _, o := range puts {
		if !o.put {
			t.Errorf("put op %+v is not a put", o)
		}
		put = append(put, o.path)
	}
	if !reflect.DeepEqual(put, []string{"c", "d", "g"}) || !reflect.DeepEqual(gone, []string{"a", "f"}) {
		t.Errorf("puts %v gone %v, want [c d g] and [a f]", put, gone)
	}
	if puts, gone := compareIndex(nil, nil, prev); len(puts) != 0 || len(gone) != 4 {
		t.Errorf("empty tree: puts %v gone %v", puts, gone)
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
	if err := createFile(name, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "one\n" {
		t.Errorf("content %q %v", b, err)
	}
	if err := createFile(name, []byte("two\n")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("creating an existing file: %v, want ErrExist", err)
	}
	if err := createFile(filepath.Join(t.TempDir(), "missing", "f"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("creating in a missing directory: %v, want ErrNotExist", err)
	}
}
