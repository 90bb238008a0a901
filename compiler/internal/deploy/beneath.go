package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Writes stay beneath the tree's directory and never go through a
// symlink. Every path Write changes (a file it puts or deletes, the
// directories above it, the journal and the index) is checked with Lstat
// before the plan is committed: a symlink, device, fifo or socket where
// fleetc would write, or in place of a directory above it, fails the write
// naming the path (it is never followed and never replaced: fleetc did not
// put it there). The moves themselves go through an os.Root, so a symlink
// swapped in after the check still cannot lead a write out of the tree.

// UnsafePathError is a path in the deploy tree that Write will not write
// through: not a regular file where it writes files, not a directory
// where it needs one.
type UnsafePathError struct {
	Dir  string // the deploy tree
	Path string // slash path below Dir
	Kind string // what is there: "symlink", "named pipe", …
	Want string // "file" or "directory"
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("%s in %s is a %s where fleetc writes a %s: fleetc never follows or replaces it; remove it (or move it out of the deploy tree) and compile again",
		e.Path, e.Dir, e.Kind, e.Want)
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	default:
		return "non-regular file"
	}
}

// beneath checks and performs one write's changes to the tree at dir.
// Directories found to be real are remembered, so a plan of thousands of
// files in few directories costs few Lstats.
type beneath struct {
	dir  string
	root *os.Root
	mu   sync.Mutex
	real map[string]bool // slash directory paths checked to be directories
}

func openBeneath(dir string) (*beneath, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &beneath{dir: dir, root: root, real: map[string]bool{}}, nil
}

func (b *beneath) close() { b.root.Close() }

// checkDirs checks the directories above the slash path p: each is a
// directory or does not exist yet (nor then any below it).
func (b *beneath) checkDirs(p string) error {
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			return nil
		}
		d := p[:i+j]
		i += j + 1
		b.mu.Lock()
		known := b.real[d]
		b.mu.Unlock()
		if known {
			continue
		}
		fi, err := os.Lstat(filepath.Join(b.dir, filepath.FromSlash(d)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &UnsafePathError{Dir: b.dir, Path: d, Kind: kindOf(fi.Mode()), Want: "directory"}
		}
		b.mu.Lock()
		b.real[d] = true
		b.mu.Unlock()
	}
}

// checkFile checks p and the directories above it: p is a regular file
// or does not exist.
func (b *beneath) checkFile(p string) error {
	if err := b.checkDirs(p); err != nil {
		return err
	}
	fi, err := os.Lstat(filepath.Join(b.dir, filepath.FromSlash(p)))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &UnsafePathError{Dir: b.dir, Path: p, Kind: kindOf(fi.Mode()), Want: "file"}
	}
	return nil
}

// checkDirs is beneath.checkDirs for one path, outside a write.
func checkDirs(dir, p string) error {
	b := &beneath{dir: dir, real: map[string]bool{}}
	return b.checkDirs(p)
}

// native turns a slash tree path into one for the os.Root.
func native(p string) string { return filepath.FromSlash(p) }
