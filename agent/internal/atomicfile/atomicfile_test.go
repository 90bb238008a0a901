package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seq")
	for _, s := range []string{"1\n", "22\n"} {
		if err := Write(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != s {
			t.Fatalf("read %q, %v; want %q", got, err, s)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only seq", len(entries))
	}
}

func TestWriteNewKeepsExisting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	exists, err := WriteNew(p, []byte("first"), 0o600)
	if err != nil || exists {
		t.Fatalf("first WriteNew: exists=%v err=%v", exists, err)
	}
	exists, err = WriteNew(p, []byte("second"), 0o600)
	if err != nil || !exists {
		t.Fatalf("second WriteNew: exists=%v err=%v, want exists", exists, err)
	}
	if got, _ := os.ReadFile(p); string(got) != "first" {
		t.Errorf("content %q, want first", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only key", len(entries))
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{TempPrefix + "seq-1", TempPrefix + "key-2", "seq", "key"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveTemps(dir, "seq")
	if err != nil || !slices.Equal(removed, []string{TempPrefix + "seq-1"}) {
		t.Fatalf("removed %v, %v", removed, err)
	}
	removed, err = RemoveTemps(dir, "")
	if err != nil || !slices.Equal(removed, []string{TempPrefix + "key-2"}) {
		t.Fatalf("removed %v, %v", removed, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries left, want seq and key", len(entries))
	}
}
