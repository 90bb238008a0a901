package deploy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The index (.fleetc/index, not committed: see IgnorePath) records the
// content hash of every file the last Write left, so the next Write learns
// what changed without reading 60,000 files back. It is trusted only while
// .fleetc/state.json is the file that Write wrote (same size, mtime and
// hash): checking out another commit, or a state written by anyone else,
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

// index maps tree paths to content hashes.
type index map[string]fileHash

// stateStamp identifies the state.json a tree was written with.
func stateStamp(dir string) (string, error) {
	name := filepath.Join(dir, filepath.FromSlash(StatePath))
	fi, err := os.Lstat(name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// readIndex returns the index of dir, or nil when there is none or it no
// longer describes the tree.
func readIndex(dir string) index {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(indexPath)))
	if err != nil {
		return nil
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	stamp, ok := strings.CutPrefix(string(first), indexMagic+" ")
	if !ok {
		return nil
	}
	if now, err := stateStamp(dir); err != nil || now != stamp {
		return nil
	}
	idx := make(index, bytes.Count(rest, []byte("\n")))
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		h, p, ok := bytes.Cut(line, []byte(" "))
		var fh fileHash
		if !ok || hex.EncodedLen(len(fh)) != len(h) {
			return nil
		}
		if _, err := hex.Decode(fh[:], h); err != nil {
			return nil
		}
		idx[string(p)] = fh
	}
	return idx
}

// writeIndex replaces dir's index atomically.
func writeIndex(dir string, idx index) error {
	stamp, err := stateStamp(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
	}
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(idx))
	for p := range idx {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	name := filepath.Join(dir, filepath.FromSlash(indexPath))
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(indexMagic + " " + stamp + "\n")
	var hx [32]byte
	for _, p := range paths {
		h := idx[p]
		hex.Encode(hx[:], h[:])
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
