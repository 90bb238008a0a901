package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test re-exec its own binary as a child that holds a
// lock or writes a tree (FLEETC_DEPLOY_CHILD), so locks and kill -9 are
// tested across real processes.
func TestMain(m *testing.M) {
	switch os.Getenv("FLEETC_DEPLOY_CHILD") {
	case "":
		os.Exit(m.Run())
	case "lock":
		childLock(os.Getenv("FLEETC_DEPLOY_DIR"))
	case "write":
		childWrite(os.Getenv("FLEETC_DEPLOY_DIR"), os.Getenv("FLEETC_DEPLOY_TREE"))
	}
	os.Exit(3)
}

// childLock takes the lock on dir, says so and sleeps until killed.
func childLock(dir string) {
	l, err := TakeLock(dir, LockOptions{Command: "lock-child"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	l.Unlock()
	os.Exit(0)
}

// child starts the test binary as a child doing what, on dir, and waits
// until it prints its first line (returned).
func child(t *testing.T, what, dir string, env ...string) (*exec.Cmd, *bufio.Reader, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FLEETC_DEPLOY_CHILD=" + what, "FLEETC_DEPLOY_DIR=" + dir}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child %s: %v", what, err)
	}
	return cmd, r, strings.TrimSpace(line)
}

// A second writer fails at once naming the holder (pid, host, command,
// since when); once the holder is killed with SIGKILL the lock is free
// and the next holder learns of the dead one. Both for an existing tree
// (the lock inside it) and one not yet written (the lock beside it).
func TestLockExcludesAndSurvivesKill(t *testing.T) {
	for _, exists := range []bool{true, false} {
		t.Run(fmt.Sprint("exists=", exists), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if exists {
				if _, err := Write(dir, tree(v1)); err != nil {
					t.Fatal(err)
				}
			}
			cmd, _, line := child(t, "lock", dir)
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			if line != "locked" {
				t.Fatalf("child: %s", line)
			}
			start := time.Now()
			_, err := Write(dir, tree(v2))
			var locked *LockedError
			if !errors.As(err, &locked) {
				t.Fatalf("a second writer while the first holds the lock: %v, want a LockedError", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("failing took %s, want at once", took)
			}
			h := locked.Holder
			host, _ := os.Hostname()
			if h == nil || h.PID != cmd.Process.Pid || h.Host != host || h.Command != "lock-child" || time.Since(h.Since) > time.Minute {
				t.Errorf("holder %+v, want pid %d on %s", h, cmd.Process.Pid, host)
			}
			for _, want := range []string{fmt.Sprintf("pid %d", cmd.Process.Pid), "lock-child", dir, "--lock-wait"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not name %q", err, want)
				}
			}
			if exists {
				if got := readTree(t, dir); !maps.Equal(got, v1) {
					t.Errorf("the refused write changed the tree: %v", got)
				}
			} else if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the refused write created the tree: %v", err)
			}
			// Waiting gives up after the wait, saying how long it waited.
			if _, err := TakeLock(dir, LockOptions{Wait: 200 * time.Millisecond}); !errors.As(err, &locked) || locked.Waited < 200*time.Millisecond {
				t.Errorf("waiting for a held lock: %v", err)
			}

			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			l, err := TakeLock(dir, LockOptions{})
			if err != nil {
				t.Fatalf("lock of a killed holder not released: %v", err)
			}
			if l.Stale == nil || l.Stale.PID != cmd.Process.Pid {
				t.Errorf("stale holder %+v, want the killed pid %d", l.Stale, cmd.Process.Pid)
			}
			if _, err := l.Write(tree(v2), WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			l.Unlock()
			if got := readTree(t, dir); !maps.Equal(got, v2) {
				t.Errorf("tree after the write %v", got)
			}
			if _, err := os.Lstat(besideLockPath(l.Dir())); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("lock beside the tree left behind: %v", err)
			}
			// A clean release leaves no stale holder.
			l, err = TakeLock(dir, LockOptions{})
			if err != nil || l.Stale != nil {
				t.Errorf("after a clean unlock: stale %+v, %v", l.Stale, err)
			}
			l.Unlock()
		})
	}
}

// Two processes writing different trees into one dir at once: every
// write either completes or is refused, and the tree is always one of
// the two, never a mix (before the lock: profile→release references to
// missing directories).
func TestConcurrentWritersNeverMix(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	a, b := syntheticTree(1500, 1), syntheticTree(1300, 2)
	if _, err := Write(dir, a); err != nil {
		t.Fatal(err)
	}
	cmd, r, line := child(t, "write", dir, "FLEETC_DEPLOY_TREE=loop")
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line != "writing" {
		t.Fatalf("child: %s", line)
	}
	refused, done := 0, 0
	for range 15 {
		_, err := Write(dir, b)
		var locked *LockedError
		switch {
		case errors.As(err, &locked):
			refused++
		case err != nil:
			t.Fatal(err)
		default:
			done++
		}
	}
	rest, _ := r.ReadString(0)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, rest)
	}
	t.Logf("parent: %d writes, %d refused; child: %s", done, refused, strings.TrimSpace(rest))
	got := readTreeHashes(t, dir)
	if !maps.Equal(got, treeHashes(a)) && !maps.Equal(got, treeHashes(b)) {
		t.Fatalf("the tree is a mix of two writes (%d files)", len(got))
	}
}

// The disk is the truth: files fleetc wrote and someone deleted, edited
// (same size, old mtime put back) or truncated are rewritten by the next
// write of the same tree, and reported.
func TestWriteRepairsTheDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Write(dir, tree(v1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the edits below are not racy with the index
	name := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
	os.Remove(name("clusters/a/fleet.yaml"))
	edited := name("releases/pos/1.0.0-x/kustomization.yaml")
	fi, _ := os.Stat(edited)
	os.WriteFile(edited, []byte(hd+"K\n"), 0o644) // same size
	os.Chtimes(edited, fi.ModTime(), fi.ModTime())
	os.Truncate(name("clusters/b/fleet.yaml"), 5) // torn

	stats, err := Write(dir, tree(v1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"clusters/a/fleet.yaml", "clusters/b/fleet.yaml", "releases/pos/1.0.0-x/kustomization.yaml"}
	if stats.Repaired != 3 || stats.Written != 3 || !slicesEqual(stats.RepairedPaths, want) {
		t.Errorf("stats %+v, want 3 repaired: %v", stats, want)
	}
	if got := readTree(t, dir); !maps.Equal(got, v1) {
		t.Errorf("tree after repair %v", got)
	}
	// Repaired once: the next write finds nothing to do.
	if stats, err := Write(dir, tree(v1)); err != nil || stats.Written != 0 || stats.Repaired != 0 {
		t.Errorf("rerun after repair: %+v %v", stats, err)
	}
}

// Verify reads every file: it repairs even a file whose stat the index
// matches (here the index is made to match an edited file).
func TestWriteVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Write(dir, tree(v1)); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "clusters", "a", "fleet.yaml")
	os.WriteFile(edited, []byte(hd+"A1\n"), 0o644)
	// Rewrite the index with the edited file's stat, as if it were fleetc's.
	x := readIndex(dir)
	paths, hashes, stats := make([]string, len(x.entries)), make([]fileHash, len(x.entries)), make([]fileStat, len(x.entries))
	for i, e := range x.entries {
		paths[i], hashes[i], stats[i] = e.path, e.hash, e.stat
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.path)))
		if err != nil {
			t.Fatal(err)
		}
		stats[i] = statOf(fi)
	}
	time.Sleep(20 * time.Millisecond)
	if err := writeIndex(dir, paths, hashes, stats); err != nil {
		t.Fatal(err)
	}
	if ws, err := Write(dir, tree(v1)); err != nil || ws.Written != 0 {
		t.Fatalf("with a matching stat the index is trusted: %+v %v", ws, err)
	}
	l, err := TakeLock(dir, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ws, err := l.Write(tree(v1), WriteOptions{Verify: true})
	if err != nil || ws.Written != 1 || ws.Repaired != 1 || !slicesEqual(ws.RepairedPaths, []string{"clusters/a/fleet.yaml"}) {
		t.Errorf("verify: %+v %v", ws, err)
	}
	if got := readTree(t, dir); !maps.Equal(got, v1) {
		t.Errorf("tree after verify %v", got)
	}
}

// A symlink (or fifo) inside a previous tree, in place of a directory
// fleetc writes into or of a file it writes, fails the write naming the
// path; nothing outside the tree is touched.
func TestWriteNeverFollowsSymlinks(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, outside string)
		path  string
	}{
		{"directory", func(t *testing.T, dir, outside string) {
			os.RemoveAll(filepath.Join(dir, "clusters", "a"))
			must(t, os.Symlink(outside, filepath.Join(dir, "clusters", "a")))
		}, "clusters/a"},
		{"file", func(t *testing.T, dir, outside string) {
			os.Remove(filepath.Join(dir, "clusters", "a", "fleet.yaml"))
			must(t, os.Symlink(filepath.Join(outside, "fleet.yaml"), filepath.Join(dir, "clusters", "a", "fleet.yaml")))
		}, "clusters/a/fleet.yaml"},
		{"removed file", func(t *testing.T, dir, outside string) {
			os.Remove(filepath.Join(dir, "clusters", "b", "fleet.yaml"))
			must(t, os.Symlink(filepath.Join(outside, "fleet.yaml"), filepath.Join(dir, "clusters", "b", "fleet.yaml")))
		}, "clusters/b/fleet.yaml"},
		{"bookkeeping", func(t *testing.T, dir, outside string) {
			os.RemoveAll(filepath.Join(dir, ".fleetc"))
			must(t, os.Symlink(outside, filepath.Join(dir, ".fleetc")))
		}, ".fleetc"},
		{"fifo", func(t *testing.T, dir, outside string) {
			os.Remove(filepath.Join(dir, "clusters", "a", "fleet.yaml"))
			must(t, syscall.Mkfifo(filepath.Join(dir, "clusters", "a", "fleet.yaml"), 0o644))
		}, "clusters/a/fleet.yaml"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			outside := t.TempDir()
			must(t, os.WriteFile(filepath.Join(outside, "fleet.yaml"), []byte("precious\n"), 0o644))
			if _, err := Write(dir, tree(v1)); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir, outside)
			_, err := Write(dir, tree(v2))
			var unsafe *UnsafePathError
			if !errors.As(err, &unsafe) || unsafe.Path != tt.path {
				t.Errorf("write through %s: %v, want an UnsafePathError naming %s", tt.path, err, tt.path)
			}
			entries, _ := os.ReadDir(outside)
			if b, err := os.ReadFile(filepath.Join(outside, "fleet.yaml")); err != nil || string(b) != "precious\n" || len(entries) != 1 {
				t.Errorf("outside the tree: %q %v, %d entries", b, err, len(entries))
			}
		})
	}
}

// fleetc never deletes what it did not write: a foreign file and a
// foreign directory under clusters/<store>/ survive compiles, including
// the store's removal, with or without an index.
func TestWriteKeepsForeignFiles(t *testing.T) {
	for _, withIndex := range []bool{true, false} {
		t.Run(fmt.Sprint("index=", withIndex), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := Write(dir, tree(v1)); err != nil {
				t.Fatal(err)
			}
			foreign := map[string]string{
				"clusters/b/flux-system/gotk-sync.yaml": "# flux bootstrap\n",
				"clusters/b/notes.txt":                  "ours\n",
				"clusters/a/extra/cm.yaml":              "kind: ConfigMap\n",
			}
			for p, c := range foreign {
				must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
			}
			for range 2 { // v2 removes store b; the second write changes nothing
				if !withIndex {
					os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
				}
				if _, err := Write(dir, tree(v2)); err != nil {
					t.Fatal(err)
				}
				want := maps.Clone(v2)
				maps.Copy(want, foreign)
				if got := readTree(t, dir); !maps.Equal(got, want) {
					t.Errorf("tree %v, want %v", got, want)
				}
			}
		})
	}
}

// A reader's Recover on a tree without a journal changes nothing (a
// read-only tree stays readable); with one it finishes the write.
func TestRecoverWithoutJournalWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := Write(dir, tree(v1)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(lockPath)))
	before := snapshot(t, dir)
	if err := Recover(dir); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("Recover without a journal changed the tree:\n%v\n%v", before, after)
	}
	if err := Recover(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("Recover of a missing tree: %v", err)
	}
}

// snapshot is every path under dir with its mode, size and mtime.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		out[p] = fmt.Sprint(fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}
