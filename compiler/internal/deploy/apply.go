package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// op is one step of a journal plan: put a new file at path, or delete it.
type op struct {
	put    bool
	n      int    // journal/new/<n> and journal/old/<n>
	hadOld bool   // journal/old/<n> holds the file this op replaces or deletes
	path   string // tree path
}

// apply updates the existing tree at dir to t in place (see Write).
func apply(dir string, t *Tree) (WriteStats, error) {
	paths := t.Paths()
	stats := WriteStats{Files: len(paths), Bytes: t.Bytes()}
	hashes := make([]fileHash, len(paths))
	parallel(len(paths), func(i int) error { hashes[i] = hashOf(t.Files[paths[i]]); return nil })
	prev := readIndex(dir)
	var ops []op
	var gone []string
	if prev != nil {
		ops, gone = compareIndex(paths, hashes, prev)
	} else {
		changed := make([]bool, len(paths))
		err := parallel(len(paths), func(i int) error {
			same, err := sameOnDisk(filepath.Join(dir, filepath.FromSlash(paths[i])), t.Files[paths[i]])
			changed[i] = !same
			return err
		})
		if err != nil {
			return stats, err
		}
		for i, p := range paths {
			if changed[i] {
				ops = append(ops, op{put: true, path: p})
			}
		}
		if gone, err = removedPaths(dir, t); err != nil {
			return stats, err
		}
	}
	for _, p := range gone {
		ops = append(ops, op{path: p})
	}
	for i := range ops {
		ops[i].n = i
	}
	stats.Written, stats.Removed = len(ops)-len(gone), len(gone)
	stats.Unchanged = len(paths) - stats.Written
	if len(ops) == 0 {
		if prev == nil {
			writeIndex(dir, paths, hashes)
		}
		return stats, nil
	}

	j := filepath.Join(dir, filepath.FromSlash(journalPath))
	if err := prepare(dir, j, t, ops); err != nil {
		os.RemoveAll(j)
		return stats, err
	}
	// From here the plan is committed: the tree becomes t, by this call or
	// by the next Write's recovery, unless applying fails and is undone.
	if err := hook("apply"); err != nil {
		return stats, undo(dir, j, ops, err)
	}
	if err := applyOps(dir, j, ops); err != nil {
		return stats, undo(dir, j, ops, err)
	}
	if err := hook("finish"); err != nil {
		return stats, err // a crash after applying: the next Write finishes
	}
	if err := os.RemoveAll(j); err != nil {
		return stats, err
	}
	writeIndex(dir, paths, hashes)
	return stats, nil
}

// compareIndex merges the sorted paths of the new tree (with their hashes)
// with the previous index: a path whose hash differs or that is new is put,
// an indexed path the tree no longer has is gone. Both come out sorted.
func compareIndex(paths []string, hashes []fileHash, prev []indexEntry) (puts []op, gone []string) {
	i, k := 0, 0
	for i < len(paths) || k < len(prev) {
		switch {
		case k == len(prev) || i < len(paths) && paths[i] < prev[k].path:
			puts = append(puts, op{put: true, path: paths[i]})
			i++
		case i == len(paths) || prev[k].path < paths[i]:
			gone = append(gone, prev[k].path)
			k++
		default:
			if hashes[i] != prev[k].hash {
				puts = append(puts, op{put: true, path: paths[i]})
			}
			i++
			k++
		}
	}
	return puts, gone
}

// sameOnDisk reports whether the file name holds exactly data.
func sameOnDisk(name string, data []byte) (bool, error) {
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return false, nil
	}
	old, err := os.ReadFile(name)
	if err != nil {
		return false, err
	}
	return bytes.Equal(old, data), nil
}

// removedPaths lists the files under dir that t does not have (not .git,
// not Write's bookkeeping), for a tree without a usable index.
func removedPaths(dir string, t *Tree) ([]string, error) {
	var gone []string
	err := filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, name)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == journalPath {
				return filepath.SkipDir
			}
			return nil
		}
		if _, ok := t.Files[rel]; !ok && !bookkeeping(rel) {
			gone = append(gone, rel)
		}
		return nil
	})
	return gone, err
}

// prepare writes the journal: new contents, links to the old files, all
// synced, then the plan, renamed into place as the commit point.
func prepare(dir, j string, t *Tree, ops []op) error {
	if err := os.RemoveAll(j); err != nil {
		return err
	}
	for _, sub := range []string{"new", "old"} {
		if err := os.MkdirAll(filepath.Join(j, sub), 0o755); err != nil {
			return err
		}
	}
	err := parallel(len(ops), func(i int) error {
		o := &ops[i]
		old := filepath.Join(j, "old", numbered(o.n))
		switch err := os.Link(filepath.Join(dir, filepath.FromSlash(o.path)), old); {
		case err == nil:
			o.hadOld = true
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscallENOTDIR):
		default:
			return fmt.Errorf("journal %s: %w", o.path, err)
		}
		if o.put {
			return createFile(filepath.Join(j, "new", numbered(o.n)), t.Files[o.path])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := hook("journal"); err != nil {
		return err
	}
	// The index describes the old tree; it goes before the tree changes.
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var b bytes.Buffer
	for _, o := range ops {
		kind := "D"
		if o.put {
			kind = "P"
		}
		old := 0
		if o.hadOld {
			old = 1
		}
		fmt.Fprintf(&b, "%s %d %d %s\n", kind, o.n, old, o.path)
	}
	b.WriteString("end\n")
	tmp := filepath.Join(j, "plan.tmp")
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := syncTree(j); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := hook("commit"); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(j, "plan")); err != nil {
		return err
	}
	syncDir(j)
	return nil
}

// applyOps moves the new files into the tree and deletes the dropped ones.
// It is idempotent, so recovery can run it again after a crash. A put is
// one rename; only when that fails does it look why: the file was moved
// before a crash (the journal no longer has it), or its directory is new.
func applyOps(dir, j string, ops []op) error {
	half := len(ops) / 2
	for i, o := range ops {
		if i == half {
			if err := hook("mid-apply"); err != nil {
				return err
			}
		}
		name := filepath.Join(dir, filepath.FromSlash(o.path))
		if !o.put {
			if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			pruneEmpty(dir, filepath.Dir(name))
			continue
		}
		src := filepath.Join(j, "new", numbered(o.n))
		err := os.Rename(src, name)
		if err == nil {
			continue
		}
		if _, statErr := os.Lstat(src); errors.Is(statErr, fs.ErrNotExist) {
			continue // moved before a crash
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.Rename(src, name); err != nil {
			return err
		}
	}
	syncTree(dir)
	return nil
}

// undo puts the old files back after a failed apply and drops the
// journal. If undoing fails too, an abort mark tells the next Write to
// finish undoing.
func undo(dir, j string, ops []op, cause error) error {
	os.WriteFile(filepath.Join(j, "abort"), nil, 0o644)
	syncDir(j)
	if err := rollBack(dir, j, ops); err != nil {
		return fmt.Errorf("%w; restoring the previous tree failed too (the next write retries): %v", cause, err)
	}
	os.RemoveAll(j)
	return cause
}

// rollBack restores every file a plan replaced or deleted.
func rollBack(dir, j string, ops []op) error {
	for i := len(ops) - 1; i >= 0; i-- {
		o := ops[i]
		name := filepath.Join(dir, filepath.FromSlash(o.path))
		old := filepath.Join(j, "old", numbered(o.n))
		switch {
		case o.hadOld:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			if err := os.Rename(old, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		case o.put:
			// A new path: remove it only if this plan put it there.
			if _, err := os.Lstat(filepath.Join(j, "new", numbered(o.n))); errors.Is(err, fs.ErrNotExist) {
				if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				pruneEmpty(dir, filepath.Dir(name))
			}
		}
	}
	syncTree(dir)
	return nil
}

// Recover finishes or undoes a Write to dir that did not complete: a
// committed plan is applied (or undone, if the write had started undoing
// it); an uncommitted journal is dropped, the tree never saw it. Write
// calls it first; it is a no-op without a journal.
func Recover(dir string) error {
	j := filepath.Join(dir, filepath.FromSlash(journalPath))
	data, err := os.ReadFile(filepath.Join(j, "plan"))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(j); err != nil {
			return fmt.Errorf("drop uncommitted journal: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	ops, err := parsePlan(data)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j, err)
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
	// An abort mark means the apply failed and began putting the old files
	// back: finish that. Otherwise the plan was committed: roll forward.
	var recoverErr error
	if _, statErr := os.Lstat(filepath.Join(j, "abort")); statErr == nil {
		recoverErr = rollBack(dir, j, ops)
	} else {
		recoverErr = applyOps(dir, j, ops)
	}
	if recoverErr != nil {
		return fmt.Errorf("recover journal: %w", recoverErr)
	}
	return os.RemoveAll(j)
}

func parsePlan(data []byte) ([]op, error) {
	var ops []op
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "end" {
			return ops, nil
		}
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 || (f[0] != "P" && f[0] != "D") || (f[2] != "0" && f[2] != "1") {
			return nil, fmt.Errorf("bad plan line %q", line)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("bad plan line %q", line)
		}
		if err := ValidPath(f[3]); err != nil {
			return nil, err
		}
		ops = append(ops, op{put: f[0] == "P", n: n, hadOld: f[2] == "1", path: f[3]})
	}
	return nil, errors.New("plan has no end mark")
}

// pruneEmpty removes d and its parents up to (not including) root while
// they are empty.
func pruneEmpty(root, d string) {
	for d != root && strings.HasPrefix(d, root+string(filepath.Separator)) {
		if os.Remove(d) != nil {
			return
		}
		d = filepath.Dir(d)
	}
}
