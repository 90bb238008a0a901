package deploy

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
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
		if d.Type().IsRegular() && !bookkeeping(rel) {
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

// The trees of these tests are fleetc's own: their files begin with
// GeneratedHeader (see owned), but for state.json.
const hd = GeneratedHeader

// hdBytes is the size of the headers of a tree of three such files.
const hdBytes = 3 * int64(len(hd))

var v1 = map[string]string{
	"clusters/a/fleet.yaml":                   hd + "a1\n",
	"clusters/b/fleet.yaml":                   hd + "b1\n",
	"releases/pos/1.0.0-x/kustomization.yaml": hd + "k\n",
	".fleetc/state.json":                      "{}\n",
}

func TestWriteNewAndReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy", "repo") // parents do not exist yet
	stats, err := Write(dir, tree(v1))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stats, WriteStats{Files: 4, Bytes: 11 + hdBytes, Written: 4}) {
		t.Errorf("first write stats %+v", stats)
	}
	if got := readTree(t, dir); !maps.Equal(got, v1) {
		t.Errorf("tree %v, want %v", got, v1)
	}
	if idx := readIndex(dir); idx == nil || len(idx.entries) != 4 || idx.entries[1].path != "clusters/a/fleet.yaml" || idx.entries[1].hash != hashOf([]byte(hd+"a1\n")) {
		t.Errorf("index after the first write: %v", idx)
	}

	// A .git directory (the deploy repo checkout) is left alone.
	os.MkdirAll(filepath.Join(dir, ".git", "refs"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	keep, _ := os.Stat(filepath.Join(dir, "releases/pos/1.0.0-x/kustomization.yaml"))

	stats, err = Write(dir, tree(v2))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stats, WriteStats{Files: 4, Bytes: 11 + hdBytes, Unchanged: 2, Written: 2, Removed: 1}) {
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
	// Unchanged content is never rewritten: same inode, same mtime.
	if fi, err := os.Stat(filepath.Join(dir, "releases/pos/1.0.0-x/kustomization.yaml")); err != nil || !os.SameFile(fi, keep) || !fi.ModTime().Equal(keep.ModTime()) {
		t.Errorf("unchanged file was rewritten")
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(journalPath))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}

	// The same tree again writes nothing.
	stats, err = Write(dir, tree(v2))
	if err != nil || stats.Written != 0 || stats.Removed != 0 || stats.Unchanged != 4 {
		t.Errorf("identical rewrite: %+v %v", stats, err)
	}
}

var v2 = map[string]string{ // store b removed, a changed, c added
	"clusters/a/fleet.yaml":                   hd + "a2\n",
	"clusters/c/fleet.yaml":                   hd + "c1\n",
	"releases/pos/1.0.0-x/kustomization.yaml": hd + "k\n",
	".fleetc/state.json":                      "{}\n",
}

// Without a usable index (a fresh checkout, a state.json written by
// someone else) Write compares with the files on disk and walks the tree
// for files to remove.
func TestWriteWithoutIndex(t *testing.T) {
	for _, name := range []string{"index removed", "state touched"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := Write(dir, tree(v1)); err != nil {
				t.Fatal(err)
			}
			if name == "index removed" {
				os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
			} else {
				os.WriteFile(filepath.Join(dir, ".fleetc", "state.json"), []byte("{}\n"), 0o644) // new mtime
			}
			// A file fleetc did not write stays; a stray one it wrote goes.
			os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("hand-made\n"), 0o644)
			os.MkdirAll(filepath.Join(dir, "profiles", "gone"), 0o755)
			os.WriteFile(filepath.Join(dir, "profiles", "gone", "apps.yaml"), []byte(hd+"old\n"), 0o644)
			stats, err := Write(dir, tree(v2))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stats, WriteStats{Files: 4, Bytes: 11 + hdBytes, Unchanged: 2, Written: 2, Removed: 2}) {
				t.Errorf("stats %+v", stats)
			}
			want := maps.Clone(v2)
			want["stray.txt"] = "hand-made\n"
			if got := readTree(t, dir); !maps.Equal(got, want) {
				t.Errorf("tree %v, want %v", got, want)
			}
			if readIndex(dir) == nil {
				t.Error("no index after the write")
			}
		})
	}
}

type crash struct{ step string }

// TestWriteFailureInjection fails or crashes a write at each step. A
// failure (an error) must leave the old tree at once; a crash (the process
// stops: a panic skips every cleanup) must leave the old tree when it
// happened before the plan was committed and the new one after, once the
// next Write (or Recover) has run; never a mix.
func TestWriteFailureInjection(t *testing.T) {
	tests := []struct {
		step   string
		crash  bool
		abort  bool // an abort mark, as left by a crash while undoing
		wantV2 bool
	}{
		{step: "journal"},
		{step: "commit"},
		{step: "apply"},
		{step: "mid-apply"},
		{step: "journal", crash: true},
		{step: "commit", crash: true},
		{step: "apply", crash: true, wantV2: true},
		{step: "mid-apply", crash: true, wantV2: true},
		{step: "mid-apply", crash: true, abort: true},
		{step: "finish", crash: true, wantV2: true},
	}
	for _, tt := range tests {
		name := tt.step
		if tt.crash {
			name += "/crash"
		}
		if tt.abort {
			name += "/abort"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := Write(dir, tree(v1)); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
			os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("x\n"), 0o644)
			writeHook = func(step string) error {
				if step != tt.step {
					return nil
				}
				if tt.crash {
					panic(crash{step})
				}
				return errors.New("injected at " + step)
			}
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(crash); !ok {
							panic(r)
						}
						err = errors.New("crashed")
					}
				}()
				_, err = Write(dir, tree(v2))
				return err
			}()
			writeHook = nil
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !tt.crash {
				if got := readTree(t, dir); !maps.Equal(got, v1) {
					t.Errorf("after a failed write the tree is %v, want the old one", got)
				}
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(journalPath))); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("journal left behind: %v", err)
				}
			}
			if tt.abort {
				os.WriteFile(filepath.Join(dir, filepath.FromSlash(journalPath), "abort"), nil, 0o644)
			}
			if err := Recover(dir); err != nil {
				t.Fatal(err)
			}
			want := v1
			if tt.wantV2 {
				want = v2
			}
			if got := readTree(t, dir); !maps.Equal(got, want) {
				t.Errorf("after recovery the tree is %v, want %v", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "clusters", "c")); tt.wantV2 == errors.Is(err, fs.ErrNotExist) {
				t.Errorf("clusters/c after recovery: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err != nil || string(b) != "x\n" {
				t.Errorf(".git: %q %v", b, err)
			}
			// The next write works from whatever recovery left.
			stats, err := Write(dir, tree(v2))
			if err != nil {
				t.Fatal(err)
			}
			if got := readTree(t, dir); !maps.Equal(got, v2) {
				t.Errorf("next write: tree %v", got)
			}
			if tt.wantV2 && stats.Written != 0 {
				t.Errorf("next write after a recovered apply rewrote %d files", stats.Written)
			}
		})
	}
}

func TestWriteNewDirFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	writeHook = func(step string) error {
		if step == "move-new" {
			return errors.New("injected")
		}
		return nil
	}
	defer func() { writeHook = nil }()
	if _, err := Write(dir, tree(v1)); err == nil {
		t.Fatal("Write succeeded")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dir exists after a failed first write: %v", err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
}

func TestParsePlan(t *testing.T) {
	ops, err := parsePlan([]byte("P 0 1 clusters/a/k.yaml\nD 1 0 x y/z\nend\n"))
	if err != nil || len(ops) != 2 || ops[0] != (op{put: true, n: 0, hadOld: true, path: "clusters/a/k.yaml"}) || ops[1] != (op{n: 1, path: "x y/z"}) {
		t.Errorf("parsePlan: %+v %v", ops, err)
	}
	for _, bad := range []string{"P 0 1 a\n", "X 0 1 a\nend\n", "P x 1 a\nend\n", "P 0 1 ../a\nend\n", "P 0 2 a\nend\n"} {
		if _, err := parsePlan([]byte(bad)); err == nil {
			t.Errorf("parsePlan(%q): no error", bad)
		}
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

	v3 := map[string]string{"clusters/a/fleet.yaml": hd + "a1\n"}
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
	if !slices.IsSorted(tr.Paths()) || len(tr.Paths()) != 4 || tr.Bytes() != 11+hdBytes {
		t.Errorf("Paths %v Bytes %d", tr.Paths(), tr.Bytes())
	}
}

// A journal whose committed plan cannot be applied must make Recover (and
// so the next Write) fail, never report success over a half-applied tree.
func TestRecoverReportsApplyFailure(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, filepath.FromSlash(journalPath))
	if err := os.MkdirAll(filepath.Join(j, "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j, "new", numbered(0)), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// "blocker" is a file, so clusters/blocker/ cannot be created.
	if err := os.MkdirAll(filepath.Join(dir, "clusters"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clusters", "blocker"), []byte("file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j, "plan"), []byte("P 0 0 clusters/blocker/kustomization.yaml\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Recover(dir)
	if err == nil || !strings.Contains(err.Error(), "recover journal") {
		t.Fatalf("Recover = %v, want a recover journal error", err)
	}
	if _, statErr := os.Stat(j); statErr != nil {
		t.Errorf("the journal must stay for the next attempt: %v", statErr)
	}
}
