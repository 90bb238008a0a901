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

// The index (.fleetc/index, not committed: see IgnorePath) records the
// content hash of every file the last Write left, so the next Write learns
// what changed without reading 60,000 files back. It is trusted only while
// .fleetc/state.json is the file that Write wrote (same size and
// mtime): checking out another commit, or a state written by anyone else,
// makes Write compare with the files on disk instead.
const (
	indexPath   = ".fleetc/index"
	journalPath = ".fleetc/journal"
	indexMagic  = "fleetc-index 1"
)

type fileHash [16]byte

func hashOf(b []byte) fileHash {
	sum := sha256.Sum256(b)
	return fileHash(sum[:16])
}

// indexEntry is one line of the index: a tree path and its content hash.
// An index is a slice of them in strictly increasing path order, the order
// Tree.Paths gives, so Write compares it with a tree by one merge, without
// a 69,000-entry map.
type indexEntry struct {
	path string
	hash fileHash
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
func readIndex(dir string) []indexEntry {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(indexPath)))
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
	idx := make([]indexEntry, 0, strings.Count(rest, "\n"))
	for len(rest) > 0 {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		h, p, ok := strings.Cut(line, " ")
		var e indexEntry
		if !ok || hex.EncodedLen(len(e.hash)) != len(h) {
			return nil
		}
		if _, err := hex.Decode(e.hash[:], []byte(h)); err != nil {
			return nil
		}
		if len(idx) > 0 && idx[len(idx)-1].path >= p {
			return nil
		}
		e.path = p
		idx = append(idx, e)
	}
	return idx
}

// writeIndex replaces dir's index atomically with paths (sorted) and
// their hashes.
func writeIndex(dir string, paths []string, hashes []fileHash) error {
	stamp, err := stateStamp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
	}
	if err != nil {
		return err
	}
	name := filepath.Join(dir, filepath.FromSlash(indexPath))
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(indexMagic + " " + stamp + "\n")
	var hx [32]byte
	for i, p := range paths {
		hex.Encode(hx[:], hashes[i][:])
		w.Write(hx[:])
		w.WriteByte(' ')
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
	return p == indexPath || p == indexPath+".tmp" || p == journalPath || strings.HasPrefix(p, journalPath+"/")
}

// numbered names the n-th file of a journal directory.
func numbered(n int) string { return strconv.Itoa(n) }
