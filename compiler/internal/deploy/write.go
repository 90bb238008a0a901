package deploy

import (
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
	Unchanged int   `json:"unchanged"` // files whose content equals the previous tree's (not rewritten)
	Written   int   `json:"written"`   // files created or replaced
	Removed   int   `json:"removed"`   // files of the previous tree no longer in it
}

// writeWorkers bounds parallel file creation; it is I/O, not CPU, bound.
var writeWorkers = max(4, 2*runtime.GOMAXPROCS(0))

// writeHook, when set by tests, is called before each step of a write and
// may fail it (an error) or stop it dead (a panic, as a crash would).
var writeHook func(step string) error

func hook(step string) error {
	if writeHook != nil {
		return writeHook(step)
	}
	return nil
}

// Write makes the tree at dir equal to t, atomically as far as a failure
// is concerned: afterwards dir holds either the previous tree or t, never a
// mix. Files not in t disappear; a .git directory in dir (a checkout of the
// deploy repository) is left alone; dir need not exist.
//
// A new dir is written into a sibling staging directory, synced and
// renamed into place. An existing tree is updated in place, and only where
// it differs: unchanged files are never rewritten. The changed files go to
// .fleetc/journal/new first, the files they replace or remove are
// hard-linked into .fleetc/journal/old, everything is synced, and a plan
// (.fleetc/journal/plan) is committed before the first rename into the
// tree. If applying fails, Write puts the old files back; if the process
// dies, the next Write finds the plan and finishes it. What changed is
// known from .fleetc/index, the content hashes of the last write (see
// index.go), or else by comparing with the files on disk.
//
// One writer at a time per dir.
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
	if exists {
		if err := Recover(abs); err != nil {
			return stats, fmt.Errorf("write tree: %w", err)
		}
		stats, err = apply(abs, t)
		if err != nil {
			return stats, fmt.Errorf("write tree: %w", err)
		}
		return stats, nil
	}
	stats, err = writeNew(parent, base, abs, t)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	return stats, nil
}

// writeNew writes t into a staging directory next to dir and renames it
// into place.
func writeNew(parent, base, dir string, t *Tree) (WriteStats, error) {
	staging, err := os.MkdirTemp(parent, "."+base+stagingMark)
	if err != nil {
		return WriteStats{}, err
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staging)
		}
	}()
	paths := t.Paths()
	hashes := make([]fileHash, len(paths))
	err = createTree(staging, t, paths, func(i int) { hashes[i] = hashOf(t.Files[paths[i]]) })
	if err != nil {
		return WriteStats{}, err
	}
	if err := syncTree(staging); err != nil {
		return WriteStats{}, fmt.Errorf("sync: %w", err)
	}
	if err := hook("move-new"); err != nil {
		return WriteStats{}, err
	}
	if err := os.Rename(staging, dir); err != nil {
		return WriteStats{}, fmt.Errorf("move new tree in: %w", err)
	}
	committed = true
	syncDir(parent)
	writeIndex(dir, paths, hashes) // best effort: without it the next Write compares files
	return WriteStats{Files: len(paths), Bytes: t.Bytes(), Written: len(paths)}, nil
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
		if bookkeeping(p) {
			return fmt.Errorf("path %q is Write's own bookkeeping", p)
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

// parallel runs f(0..n-1) on writeWorkers goroutines and returns the
// first error; it stops handing out work after one.
func parallel(n int, f func(i int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(writeWorkers, max(1, n)) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
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
