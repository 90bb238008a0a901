package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// maxRepairedPaths is how many repaired paths WriteStats lists.
const maxRepairedPaths = 10

// apply updates the existing tree at dir to t in place (see Write).
func apply(b *beneath, t *Tree, opts WriteOptions) (WriteStats, error) {
	dir := b.dir
	paths := t.Paths()
	stats := WriteStats{Files: len(paths), Bytes: t.Bytes()}
	hashes := make([]fileHash, len(paths))
	parallel(len(paths), func(i int) error { hashes[i] = hashOf(t.Files[paths[i]]); return nil })
	// fstats[i] is the stat of paths[i] as it stands, for the new index;
	// a put's is known only once it is in place.
	fstats := make([]fileStat, len(paths))
	prev := readIndex(dir)
	var (
		puts     []int // indices into paths
		repaired []string
		gone     []string
		err      error
	)
	restat := prev == nil || opts.Verify // the index is rewritten even if nothing is put
	if prev != nil && !opts.Verify {
		puts, repaired, gone, restat, err = compareIndex(dir, paths, hashes, t, prev, fstats)
	} else {
		puts, repaired, err = compareDisk(dir, paths, hashes, t, prev, fstats)
		if err == nil {
			var strays []string
			gone, strays, err = removedPaths(dir, t, prev)
			repaired = append(repaired, strays...)
		}
	}
	if err != nil {
		return stats, err
	}
	ops := make([]op, 0, len(puts)+len(gone))
	for _, i := range puts {
		ops = append(ops, op{put: true, path: paths[i]})
	}
	for _, p := range gone {
		ops = append(ops, op{path: p})
	}
	for i := range ops {
		ops[i].n = i
	}
	stats.Written, stats.Removed = len(puts), len(gone)
	stats.Unchanged = len(paths) - stats.Written
	stats.Repaired = len(repaired)
	slices.Sort(repaired)
	stats.RepairedPaths = repaired[:min(len(repaired), maxRepairedPaths)]
	if len(ops) == 0 {
		if restat {
			writeIndex(dir, paths, hashes, fstats)
		}
		return stats, nil
	}

	j := filepath.Join(dir, filepath.FromSlash(journalPath))
	if err := prepare(b, t, ops); err != nil {
		b.root.RemoveAll(native(journalPath))
		return stats, err
	}
	// From here the plan is committed: the tree becomes t, by this call or
	// by the next Write's recovery, unless applying fails and is undone.
	if err := hook("apply"); err != nil {
		return stats, undo(b, ops, err)
	}
	if err := applyOps(b, ops); err != nil {
		return stats, undo(b, ops, err)
	}
	if err := hook("finish"); err != nil {
		return stats, err // a crash after applying: the next Write finishes
	}
	if err := os.RemoveAll(j); err != nil {
		return stats, err
	}
	// The index records each put file's stat as it is now, in the tree.
	err = parallel(len(puts), func(k int) error {
		i := puts[k]
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(paths[i])))
		if err == nil {
			fstats[i] = statOf(fi)
		}
		return err
	})
	if err == nil {
		writeIndex(dir, paths, hashes, fstats)
	}
	return stats, nil
}

// compareIndex merges the sorted paths of the new tree (with their hashes)
// with the previous index: a path whose hash differs or that is new is put,
// an indexed path the tree no longer has is gone. A path whose hash the
// index has is checked against the disk by its stat: if that differs (or
// is racy) the file is read, and put if it no longer holds what fleetc
// wrote (a repair). restat says the index should be rewritten even if
// nothing is put (a stat changed, content did not). puts and gone come
// out sorted.
func compareIndex(dir string, paths []string, hashes []fileHash, t *Tree, prev *index, fstats []fileStat) (puts []int, repaired, gone []string, restat bool, err error) {
	type same struct{ i, k int }
	var check []same
	idx := prev.entries
	i, k := 0, 0
	for i < len(paths) || k < len(idx) {
		switch {
		case k == len(idx) || i < len(paths) && paths[i] < idx[k].path:
			puts = append(puts, i)
			i++
		case i == len(paths) || idx[k].path < paths[i]:
			gone = append(gone, idx[k].path)
			k++
		default:
			if hashes[i] != idx[k].hash {
				puts = append(puts, i)
			} else {
				check = append(check, same{i, k})
			}
			i++
			k++
		}
	}
	const (
		trusted = iota
		reread  // stat changed, content did not
		broken  // missing, not a regular file, or other content
	)
	verdict := make([]uint8, len(check))
	err = parallel(len(check), func(c int) error {
		i, e := check[c].i, &idx[check[c].k]
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(paths[i])))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscallENOTDIR):
			verdict[c] = broken
			return nil
		case err != nil:
			return err
		case !fi.Mode().IsRegular():
			verdict[c] = broken // the put's check names it
			return nil
		}
		now := statOf(fi)
		if prev.trusts(e, now) {
			fstats[i] = now
			return nil
		}
		ok, st, err := sameOnDisk(filepath.Join(dir, filepath.FromSlash(paths[i])), t.Files[paths[i]])
		if err != nil {
			return err
		}
		if !ok {
			verdict[c] = broken
			return nil
		}
		fstats[i] = st
		verdict[c] = reread
		return nil
	})
	if err != nil {
		return nil, nil, nil, false, err
	}
	for c, v := range verdict {
		switch v {
		case reread:
			restat = true
		case broken:
			puts = append(puts, check[c].i)
			repaired = append(repaired, paths[check[c].i])
		}
	}
	slices.Sort(puts)
	return puts, repaired, gone, restat, nil
}

// compareDisk compares every file of the new tree with the disk, for a
// tree without a usable index or a full verify. A file that differs is
// put; it is a repair when prev (if any) says fleetc last wrote exactly
// what it writes now.
func compareDisk(dir string, paths []string, hashes []fileHash, t *Tree, prev *index, fstats []fileStat) (puts []int, repaired []string, err error) {
	changed := make([]bool, len(paths))
	err = parallel(len(paths), func(i int) error {
		same, st, err := sameOnDisk(filepath.Join(dir, filepath.FromSlash(paths[i])), t.Files[paths[i]])
		changed[i] = !same
		fstats[i] = st
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var idx []indexEntry
	if prev != nil {
		idx = prev.entries
	}
	k := 0
	for i, p := range paths {
		if !changed[i] {
			continue
		}
		puts = append(puts, i)
		for k < len(idx) && idx[k].path < p {
			k++
		}
		if k < len(idx) && idx[k].path == p && idx[k].hash == hashes[i] {
			repaired = append(repaired, p)
		}
	}
	return puts, repaired, nil
}

// sameOnDisk reports whether the file name holds exactly data, and its
// stat when it does.
func sameOnDisk(name string, data []byte) (bool, fileStat, error) {
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) {
		return false, fileStat{}, nil
	}
	if err != nil {
		return false, fileStat{}, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return false, fileStat{}, nil
	}
	old, err := os.ReadFile(name)
	if err != nil {
		return false, fileStat{}, err
	}
	return bytes.Equal(old, data), statOf(fi), nil
}

// removedPaths lists the files under dir that t does not have and that
// fleetc owns (see owned): never .git, Write's bookkeeping, a file someone
// else put there (flux bootstrap's clusters/<store>/flux-system/) or
// anything that is not a regular file; for a tree without a usable index
// or a full verify. strays are those of them that prev (if any) does not
// list: fleetc files the last write did not leave, e.g. from a torn tree.
func removedPaths(dir string, t *Tree, prev *index) (gone, strays []string, err error) {
	indexed := map[string]bool{}
	if prev != nil {
		for _, e := range prev.entries {
			indexed[e.path] = true
		}
	}
	err = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
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
		if _, ok := t.Files[rel]; ok || bookkeeping(rel) || !d.Type().IsRegular() {
			return nil
		}
		mine, err := owned(name, rel)
		if err != nil || !mine {
			return err
		}
		gone = append(gone, rel)
		if prev != nil && !indexed[rel] {
			strays = append(strays, rel)
		}
		return nil
	})
	return gone, strays, err
}

// prepare checks every path the plan changes (see beneath), then writes
// the journal: new contents, links to the old files, all synced, then the
// plan, renamed into place as the commit point.
func prepare(b *beneath, t *Tree, ops []op) error {
	if err := b.checkDirs(journalPath + "/new/0"); err != nil {
		return err
	}
	if err := parallel(len(ops), func(i int) error { return b.checkFile(ops[i].path) }); err != nil {
		return err
	}
	if err := b.root.RemoveAll(native(journalPath)); err != nil {
		return err
	}
	for _, sub := range []string{"new", "old"} {
		if err := b.root.MkdirAll(native(journalPath+"/"+sub), 0o755); err != nil {
			return err
		}
	}
	j := filepath.Join(b.dir, filepath.FromSlash(journalPath))
	err := parallel(len(ops), func(i int) error {
		o := &ops[i]
		switch err := b.root.Link(native(o.path), native(journalPath+"/old/"+numbered(o.n))); {
		case err == nil:
			o.hadOld = true
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscallENOTDIR):
		default:
			return fmt.Errorf("journal %s: %w", o.path, err)
		}
		if o.put {
			_, err := createFile(filepath.Join(j, "new", numbered(o.n)), t.Files[o.path])
			return err
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
	if err := b.root.Remove(native(indexPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var buf bytes.Buffer
	for _, o := range ops {
		kind := "D"
		if o.put {
			kind = "P"
		}
		old := 0
		if o.hadOld {
			old = 1
		}
		fmt.Fprintf(&buf, "%s %d %d %s\n", kind, o.n, old, o.path)
	}
	buf.WriteString("end\n")
	if _, err := createFile(filepath.Join(j, "plan.tmp"), buf.Bytes()); err != nil {
		return err
	}
	if err := syncTree(j); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := hook("commit"); err != nil {
		return err
	}
	if err := b.root.Rename(native(journalPath+"/plan.tmp"), native(journalPath+"/plan")); err != nil {
		return err
	}
	syncDir(j)
	return nil
}

// applyOps moves the new files into the tree and deletes the dropped ones.
// It is idempotent, so recovery can run it again after a crash. A put is
// one rename; only when that fails does it look why: the file was moved
// before a crash (the journal no longer has it), or its directory is new.
func applyOps(b *beneath, ops []op) error {
	half := len(ops) / 2
	for i, o := range ops {
		if i == half {
			if err := hook("mid-apply"); err != nil {
				return err
			}
		}
		name := native(o.path)
		if !o.put {
			if err := b.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscallENOTDIR) {
				return err
			}
			b.pruneEmpty(path.Dir(o.path))
			continue
		}
		src := native(journalPath + "/new/" + numbered(o.n))
		err := b.root.Rename(src, name)
		if err == nil {
			continue
		}
		if _, statErr := b.root.Lstat(src); errors.Is(statErr, fs.ErrNotExist) {
			continue // moved before a crash
		}
		if err := b.root.MkdirAll(native(path.Dir(o.path)), 0o755); err != nil {
			return err
		}
		if err := b.root.Rename(src, name); err != nil {
			return err
		}
	}
	syncTree(b.dir)
	return nil
}

// undo puts the old files back after a failed apply and drops the
// journal. If undoing fails too, an abort mark tells the next Write to
// finish undoing.
func undo(b *beneath, ops []op, cause error) error {
	j := filepath.Join(b.dir, filepath.FromSlash(journalPath))
	createFile(filepath.Join(j, "abort"), nil)
	syncDir(j)
	if err := rollBack(b, ops); err != nil {
		return fmt.Errorf("%w; restoring the previous tree failed too (the next write retries): %v", cause, err)
	}
	b.root.RemoveAll(native(journalPath))
	return cause
}

// rollBack restores every file a plan replaced or deleted.
func rollBack(b *beneath, ops []op) error {
	for i := len(ops) - 1; i >= 0; i-- {
		o := ops[i]
		name := native(o.path)
		old := native(journalPath + "/old/" + numbered(o.n))
		switch {
		case o.hadOld:
			if err := b.root.MkdirAll(native(path.Dir(o.path)), 0o755); err != nil {
				return err
			}
			if err := b.root.Rename(old, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		case o.put:
			// A new path: remove it only if this plan put it there.
			if _, err := b.root.Lstat(native(journalPath + "/new/" + numbered(o.n))); errors.Is(err, fs.ErrNotExist) {
				if err := b.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				b.pruneEmpty(path.Dir(o.path))
			}
		}
	}
	syncTree(b.dir)
	return nil
}

// recoverJournal finishes or undoes a Write to b's tree that did not
// complete: a committed plan is applied (or undone, if the write had
// started undoing it); an uncommitted journal is dropped, the tree never
// saw it. It reports what it did ("" when there was no journal). The
// caller holds the lock.
func recoverJournal(b *beneath) (string, error) {
	if _, err := b.root.Lstat(native(journalPath)); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err := b.checkDirs(journalPath + "/plan"); err != nil {
		return "", err
	}
	data, err := b.root.ReadFile(native(journalPath + "/plan"))
	if errors.Is(err, fs.ErrNotExist) {
		if err := b.root.RemoveAll(native(journalPath)); err != nil {
			return "", fmt.Errorf("drop uncommitted journal: %w", err)
		}
		return "dropped an uncommitted write", nil
	}
	if err != nil {
		return "", fmt.Errorf("read journal: %w", err)
	}
	ops, err := parsePlan(data)
	if err != nil {
		return "", fmt.Errorf("journal %s: %w", filepath.Join(b.dir, filepath.FromSlash(journalPath)), err)
	}
	if err := parallel(len(ops), func(i int) error { return b.checkFile(ops[i].path) }); err != nil {
		return "", fmt.Errorf("recover journal: %w", err)
	}
	b.root.Remove(native(indexPath))
	// An abort mark means the apply failed and began putting the old files
	// back: finish that. Otherwise the plan was committed: roll forward.
	var recoverErr error
	did := fmt.Sprintf("finished an interrupted write (%d files)", len(ops))
	if _, statErr := b.root.Lstat(native(journalPath + "/abort")); statErr == nil {
		did = fmt.Sprintf("undid a failed write (%d files)", len(ops))
		recoverErr = rollBack(b, ops)
	} else {
		recoverErr = applyOps(b, ops)
	}
	if recoverErr != nil {
		return "", fmt.Errorf("recover journal: %w", recoverErr)
	}
	return did, b.root.RemoveAll(native(journalPath))
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

// pruneEmpty removes the slash directory d and its parents while they
// are empty (never the tree's root).
func (b *beneath) pruneEmpty(d string) {
	for d != "." && d != "" {
		if b.root.Remove(native(d)) != nil {
			return
		}
		d = path.Dir(d)
	}
}
