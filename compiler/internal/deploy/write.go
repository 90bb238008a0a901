package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// WriteStats says what Write did.
type WriteStats struct {
	Files     int   `json:"files"`     // files in the new tree
	Bytes     int64 `json:"bytes"`     // their total size
	Unchanged int   `json:"unchanged"` // files whose content equals the previous tree's
}

// writeWorkers bounds parallel file creation; it is I/O, not CPU, bound.
var writeWorkers = max(4, 2*runtime.GOMAXPROCS(0))

// swapHook, when set by tests, is called before each step of the swap and
// may fail it, to prove a failed swap leaves the previous tree in place.
var swapHook func(step string) error

// Write replaces the tree at dir with t, atomically as far as a failure is
// concerned: t is written into a sibling staging directory and synced, then
// the old tree is renamed away, the new one renamed in and the old one
// removed. If anything fails before the new tree is in place, dir is left
// exactly as it was and the staging directory is removed. Files not in t
// disappear. A .git directory inside dir (dir may be a checkout of the
// deploy repository) is moved across the swap. dir need not exist.
//
// Files whose content is unchanged are hard-linked from the previous tree
// instead of rewritten. One writer at a time per dir: leftovers of a
// crashed Write are recovered or removed by the next.
func Write(dir string, t *Tree) (WriteStats, error) {
	var stats WriteStats
	if err := checkTree(t); err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	parent, base := filepath.Split(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	if err := recoverStale(parent, base, abs); err != nil {
		return stats, fmt.Errorf("write tree: recover previous write: %w", err)
	}
	exists, err := isDir(abs)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	staging, err := os.MkdirTemp(parent, "."+base+stagingMark)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staging)
		}
	}()
	stats, err = writeFiles(staging, abs, exists, t)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	if err := syncTree(staging); err != nil {
		return stats, fmt.Errorf("write tree: sync: %w", err)
	}
	old := filepath.Join(parent, "."+base+oldMark+strings.TrimPrefix(filepath.Base(staging), "."+base+stagingMark))
	if err := swap(abs, staging, old, exists); err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	committed = true
	syncDir(parent)
	// The new tree is in place; a failure to delete the old one is left
	// for the next Write to clean up.
	removeTree(old)
	return stats, nil
}

const (
	stagingMark = ".fleetc-staging-"
	oldMark     = ".fleetc-old-"
)

// checkTree rejects invalid paths and a path that is both a file and a
// directory, before anything touches the disk.
func checkTree(t *Tree) error {
	for p := range t.Files {
		if err := ValidPath(p); err != nil {
			return err
		}
		for i := strings.IndexByte(p, '/'); i >= 0; {
			if _, ok := t.Files[p[:i]]; ok {
				return fmt.Errorf("path %q is both a file and a directory", p[:i])
			}
			j := strings.IndexByte(p[i+1:], '/')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return nil
}

// writeFiles creates every file of t under staging, linking unchanged
// files from the previous tree at prev.
func writeFiles(staging, prev string, prevExists bool, t *Tree) (WriteStats, error) {
	paths := t.Paths()
	var (
		next      atomic.Int64
		unchanged atomic.Int64
		failed    atomic.Bool
		mu        sync.Mutex
		firstErr  error
		dirs      sync.Map
		wg        sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		failed.Store(true)
	}
	for range min(writeWorkers, max(1, len(paths))) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				p := paths[i]
				name := filepath.Join(staging, filepath.FromSlash(p))
				if d := filepath.Dir(name); d != staging {
					if _, ok := dirs.Load(d); !ok {
						if err := os.MkdirAll(d, 0o755); err != nil {
							fail(err)
							return
						}
						dirs.Store(d, true)
					}
				}
				same, err := writeOne(name, prev, p, prevExists, t.Files[p])
				if err != nil {
					fail(err)
					return
				}
				if same {
					unchanged.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return WriteStats{}, firstErr
	}
	return WriteStats{Files: len(paths), Bytes: t.Bytes(), Unchanged: int(unchanged.Load())}, nil
}

// writeOne writes one file, hard-linking the previous tree's file when its
// content is the same. It reports whether the content was unchanged.
func writeOne(name, prev, p string, prevExists bool, data []byte) (bool, error) {
	if prevExists {
		oldName := filepath.Join(prev, filepath.FromSlash(p))
		if fi, err := os.Lstat(oldName); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
			if old, err := os.ReadFile(oldName); err == nil && bytes.Equal(old, data) {
				if os.Link(oldName, name) == nil {
					return true, nil
				}
				return true, os.WriteFile(name, data, 0o644)
			}
		}
	}
	return false, os.WriteFile(name, data, 0o644)
}

// swap moves staging into place at dir, carrying dir/.git across. On
// failure it puts everything back.
func swap(dir, staging, old string, exists bool) error {
	step := func(name string) error {
		if swapHook != nil {
			return swapHook(name)
		}
		return nil
	}
	gitMoved := false
	if exists {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			if err := step("move-git"); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(dir, ".git"), filepath.Join(staging, ".git")); err != nil {
				return fmt.Errorf("move .git: %w", err)
			}
			gitMoved = true
		}
	}
	restoreGit := func(from string) {
		if gitMoved {
			os.Rename(filepath.Join(from, ".git"), filepath.Join(dir, ".git"))
		}
	}
	if exists {
		if err := step("move-old"); err != nil {
			restoreGit(staging)
			return err
		}
		if err := os.Rename(dir, old); err != nil {
			restoreGit(staging)
			return fmt.Errorf("move previous tree away: %w", err)
		}
	}
	if err := step("move-new"); err != nil {
		return rollback(dir, staging, old, exists, gitMoved, err)
	}
	if err := os.Rename(staging, dir); err != nil {
		return rollback(dir, staging, old, exists, gitMoved, err)
	}
	return nil
}

// rollback undoes a swap whose last rename failed.
func rollback(dir, staging, old string, exists, gitMoved bool, cause error) error {
	if exists {
		if err := os.Rename(old, dir); err != nil {
			return fmt.Errorf("move new tree in: %w; restoring the previous tree failed too, it is at %s: %v", cause, old, err)
		}
	}
	if gitMoved {
		os.Rename(filepath.Join(staging, ".git"), filepath.Join(dir, ".git"))
	}
	return fmt.Errorf("move new tree in: %w", cause)
}

// recoverStale cleans up after a Write that crashed: if dir is missing but
// a previous tree was already renamed away, it is put back (with a .git
// left in a staging directory); every other leftover is removed.
func recoverStale(parent, base, dir string) error {
	olds, _ := filepath.Glob(filepath.Join(parent, "."+base+oldMark+"*"))
	stagings, _ := filepath.Glob(filepath.Join(parent, "."+base+stagingMark+"*"))
	if len(olds) == 0 && len(stagings) == 0 {
		return nil
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) && len(olds) == 1 {
		if err := os.Rename(olds[0], dir); err != nil {
			return err
		}
		olds = nil
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); errors.Is(err, fs.ErrNotExist) {
		for _, s := range stagings {
			if fi, err := os.Lstat(filepath.Join(s, ".git")); err == nil && fi.IsDir() {
				if _, err := os.Lstat(dir); err == nil {
					if err := os.Rename(filepath.Join(s, ".git"), filepath.Join(dir, ".git")); err != nil {
						return err
					}
				}
				break
			}
		}
	}
	for _, d := range append(olds, stagings...) {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

func isDir(p string) (bool, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s exists and is not a directory", p)
	}
	return true, nil
}

// syncDir flushes a directory entry change; best effort.
func syncDir(d string) {
	if f, err := os.Open(d); err == nil {
		f.Sync()
		f.Close()
	}
}

// removeTree deletes a tree with parallel workers, one second-level
// directory (clusters/<store>, releases/<app>) at a time: sequential
// RemoveAll of 60,000 store directories takes ~15 s here.
func removeTree(root string) {
	var subdirs []string
	top, _ := os.ReadDir(root)
	for _, e := range top {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(root, e.Name())
		entries, _ := os.ReadDir(d)
		for _, e2 := range entries {
			subdirs = append(subdirs, filepath.Join(d, e2.Name()))
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(writeWorkers, max(1, len(subdirs))) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(subdirs) {
					return
				}
				os.RemoveAll(subdirs[i])
			}
		})
	}
	wg.Wait()
	os.RemoveAll(root)
}
