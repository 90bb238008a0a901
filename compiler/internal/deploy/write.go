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
	// Repaired counts the files that were not what fleetc last wrote
	// (deleted, edited or left torn on disk, or a stray fleetc file) and
	// were written or removed again; they are also in Written or Removed.
	// RepairedPaths names the first few, sorted.
	Repaired      int      `json:"repaired,omitempty"`
	RepairedPaths []string `json:"repairedPaths,omitempty"`
}

// WriteOptions tune one Write.
type WriteOptions struct {
	// Verify reads every file of the tree back instead of trusting the
	// index and the files' stat (fleetc compile --verify).
	Verify bool
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
// mix. Files fleetc owns (see owned) that are not in t disappear; a .git
// directory in dir (a checkout of the deploy repository) and files fleetc
// did not write are left alone; dir need not exist.
//
// A new dir is written into a sibling staging directory, synced and
// renamed into place. An existing tree is updated in place, and only where
// it differs: unchanged files are never rewritten. The changed files go to
// .fleetc/journal/new first, the files they replace or remove are
// hard-linked into .fleetc/journal/old, everything is synced, and a plan
// (.fleetc/journal/plan) is committed before the first rename into the
// tree. If applying fails, Write puts the old files back; if the process
// dies, the next Write (or Recover) finds the plan and finishes it. What
// changed is known from .fleetc/index, the content hashes and stats of the
// last write (see index.go), or else by comparing with the files on disk.
//
// Write takes the tree's lock for the call (see TakeLock) and fails at
// once with a *LockedError if another process holds it.
func Write(dir string, t *Tree) (WriteStats, error) {
	l, err := TakeLock(dir, LockOptions{})
	if err != nil {
		return WriteStats{}, fmt.Errorf("write tree: %w", err)
	}
	defer l.Unlock()
	return l.Write(t, WriteOptions{})
}

// Write is Write for the tree l holds.
func (l *Lock) Write(t *Tree, opts WriteOptions) (WriteStats, error) {
	var stats WriteStats
	if l.inside == nil && l.beside == nil {
		return stats, errors.New("write tree: the lock was released")
	}
	if err := checkTree(t); err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	exists, err := isDir(l.dir)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	if exists && l.inside != nil {
		b, err := openBeneath(l.dir)
		if err != nil {
			return stats, fmt.Errorf("write tree: %w", err)
		}
		defer b.close()
		stats, err = apply(b, t, opts)
		if err != nil {
			return stats, fmt.Errorf("write tree: %w", err)
		}
		return stats, nil
	}
	if exists {
		return stats, fmt.Errorf("write tree: %s appeared while locked beside it; retry", l.dir)
	}
	parent, base := filepath.Split(l.dir)
	stats, err = l.writeNew(parent, base, t)
	if err != nil {
		return stats, fmt.Errorf("write tree: %w", err)
	}
	return stats, nil
}

// Recover finishes or undoes a Write to dir that did not complete (a
// crash, kill -9): a committed plan is applied, or undone if the write had
// started undoing it; an uncommitted journal is dropped, the tree never
// saw it; leftovers of a new tree's staging are removed. Everything that
// reads a deploy tree calls it first. Without a journal or leftovers it
// changes nothing and takes no lock, so it works on a read-only tree; else
// it takes the lock for the time it needs, failing with a *LockedError if
// a write is under way.
func Recover(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	parent, base := filepath.Split(abs)
	_, err = os.Lstat(filepath.Join(abs, filepath.FromSlash(journalPath)))
	stale, _ := filepath.Glob(filepath.Join(parent, "."+base+".fleetc-*")) // staging, old tree, lock of a dead writer
	if errors.Is(err, fs.ErrNotExist) && len(stale) == 0 {
		return nil
	}
	l, err := TakeLock(abs, LockOptions{})
	if err != nil {
		return err
	}
	l.Unlock()
	return nil
}

// writeNew writes t into a staging directory next to dir and renames it
// into place, with its lock file already locked by l.
func (l *Lock) writeNew(parent, base string, t *Tree) (WriteStats, error) {
	dir := l.dir
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
	fstats := make([]fileStat, len(paths))
	err = createTree(staging, t, paths, func(i int, st fileStat) { hashes[i], fstats[i] = hashOf(t.Files[paths[i]]), st })
	if err != nil {
		return WriteStats{}, err
	}
	if err := os.MkdirAll(filepath.Join(staging, ".fleetc"), 0o755); err != nil {
		return WriteStats{}, err
	}
	lf, _, err := lockFile(filepath.Join(staging, filepath.FromSlash(lockPath)), l.holder)
	if err != nil {
		return WriteStats{}, err
	}
	if err := syncTree(staging); err != nil {
		return WriteStats{}, fmt.Errorf("sync: %w", err)
	}
	if err := hook("move-new"); err != nil {
		lf.Close()
		return WriteStats{}, err
	}
	if err := os.Rename(staging, dir); err != nil {
		lf.Close()
		return WriteStats{}, fmt.Errorf("move new tree in: %w", err)
	}
	committed = true
	l.adopt(lf)
	syncDir(parent)
	writeIndex(dir, paths, hashes, fstats) // best effort: without it the next Write compares files
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
