package deploy

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The index (.fleetc/index, not committed: see IgnorePath) records, for
// every file the last Write left, its content hash and its stat (size,
// mtime, ctime, inode), so the next Write learns what changed without
// reading 60,000 files back. The disk, not the index, is the truth: a file
// whose stat no longer matches (edited, replaced, deleted by hand, left
// torn by a crash) is read and, if its content is not what fleetc wrote,
// rewritten and reported as repaired. A file modified in the same clock
// tick as the index was written cannot be told apart by its stat (a racy
// entry, as git calls it) and is read too.
//
// The index is trusted only while .fleetc/state.json is the file that
// Write wrote (same size and mtime): checking out another commit, or a
// state written by anyone else, makes Write compare with the files on
// disk instead.
const (
	indexPath   = ".fleetc/index"
	journalPath = ".fleetc/journal"
	lockPath    = ".fleetc/lock"
	indexMagic  = "fleetc-index 2"
)

type fileHash [16]byte

func hashOf(b []byte) fileHash {
	sum := sha256.Sum256(b)
	return fileHash(sum[:16])
}

// fileStat is what the index keeps of a file's stat (see statOf).
type fileStat struct {
	size, mtime, ctime int64
	ino                uint64
}

// indexEntry is one line of the index: a tree path, its content hash and
// its stat. An index is a slice of them in strictly increasing path
// order, the order Tree.Paths gives, so Write compares it with a tree by
// one merge, without a 69,000-entry map.
type indexEntry struct {
	path string
	hash fileHash
	stat fileStat
}

// index is a read index and the time it was written (its own mtime).
type index struct {
	entries []indexEntry
	written int64 // UnixNano
}

// trusts reports whether a file with stat now still holds what e says
// without reading it: same stat, and not modified in the tick the index
// was written.
func (x *index) trusts(e *indexEntry, now fileStat) bool {
	return now == e.stat && e.stat.mtime < x.written && e.stat.ctime < x.written
}

// stateStamp identifies the state.json a tree was written with.
func stateStamp(dir string) (string, error) {
	name := filepath.Join(dir, filepath.FromSlash(StatePath))
	fi, err := os.Lstat(name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// readIndex returns the index of dir, or nil when there is none, it no
// longer describes the tree, or it is not in path order.
func readIndex(dir string) *index {
	name := filepath.Join(dir, filepath.FromSlash(indexPath))
	fi, err := os.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	first, rest, _ := strings.Cut(string(data), "\n") // one copy: paths are slices of it
	stamp, ok := strings.CutPrefix(first, indexMagic+" ")
	if !ok {
		return nil
	}
	if now, err := stateStamp(dir); err != nil || now != stamp {
		return nil
	}
	x := &index{entries: make([]indexEntry, 0, strings.Count(rest, "\n")), written: fi.ModTime().UnixNano()}
	for len(rest) > 0 {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		e, ok := parseIndexLine(line)
		if !ok {
			return nil
		}
		if n := len(x.entries); n > 0 && x.entries[n-1].path >= e.path {
			return nil
		}
		x.entries = append(x.entries, e)
	}
	return x
}

// parseIndexLine reads "<hash> <size> <mtime> <ctime> <inode> <path>".
func parseIndexLine(line string) (indexEntry, bool) {
	var e indexEntry
	var f [5]string
	for i := range f {
		var ok bool
		if f[i], line, ok = strings.Cut(line, " "); !ok {
			return e, false
		}
	}
	if hex.EncodedLen(len(e.hash)) != len(f[0]) {
		return e, false
	}
	if _, err := hex.Decode(e.hash[:], []byte(f[0])); err != nil {
		return e, false
	}
	var errs [4]error
	e.stat.size, errs[0] = strconv.ParseInt(f[1], 10, 64)
	e.stat.mtime, errs[1] = strconv.ParseInt(f[2], 10, 64)
	e.stat.ctime, errs[2] = strconv.ParseInt(f[3], 10, 64)
	e.stat.ino, errs[3] = strconv.ParseUint(f[4], 10, 64)
	if errors.Join(errs[:]...) != nil || line == "" {
		return e, false
	}
	e.path = line
	return e, true
}

// writeIndex replaces dir's index atomically with paths (sorted), their
// hashes and their stats.
func writeIndex(dir string, paths []string, hashes []fileHash, stats []fileStat) error {
	name := filepath.Join(dir, filepath.FromSlash(indexPath))
	stamp, err := stateStamp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Remove(name)
	}
	if err != nil {
		return err
	}
	if err := checkDirs(dir, indexPath); err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) // never through a symlink
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(indexMagic + " " + stamp + "\n")
	var hx [32]byte
	var num []byte
	for i, p := range paths {
		hex.Encode(hx[:], hashes[i][:])
		w.Write(hx[:])
		st := stats[i]
		num = strconv.AppendInt(append(num[:0], ' '), st.size, 10)
		num = strconv.AppendInt(append(num, ' '), st.mtime, 10)
		num = strconv.AppendInt(append(num, ' '), st.ctime, 10)
		num = strconv.AppendUint(append(num, ' '), st.ino, 10)
		w.Write(append(num, ' '))
		w.WriteString(p)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// bookkeeping reports whether a tree path belongs to Write itself.
func bookkeeping(p string) bool {
	return p == indexPath || p == indexPath+".tmp" || p == lockPath || p == journalPath || strings.HasPrefix(p, journalPath+"/")
}

// numbered names the n-th file of a journal directory.
func numbered(n int) string { return strconv.Itoa(n) }
