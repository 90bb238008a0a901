package deploy

import (
	"fmt"
	"slices"
	"strings"
)

// Tree is a rendered deploy tree: relative slash paths to file content.
// A map keeps lookups cheap for Check and 60,000+ entries cheap to build;
// Paths gives the sorted order wherever order matters.
type Tree struct {
	Files map[string][]byte
}

// NewTree returns an empty tree sized for n files.
func NewTree(n int) *Tree { return &Tree{Files: make(map[string][]byte, n)} }

// Paths returns every path in sorted order.
func (t *Tree) Paths() []string {
	ps := make([]string, 0, len(t.Files))
	for p := range t.Files {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// Bytes is the total content size.
func (t *Tree) Bytes() int64 {
	var n int64
	for _, b := range t.Files {
		n += int64(len(b))
	}
	return n
}

// ValidPath reports why p cannot be a tree path: it must be relative, use
// forward slashes, have no empty, "." or ".." segments, and stay out of
// .git, which Write keeps as it is.
func ValidPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q must be relative with forward slashes", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("path %q has an empty, \".\" or \"..\" segment", p)
		}
	}
	if p == ".git" || strings.HasPrefix(p, ".git/") {
		return fmt.Errorf("path %q is inside .git", p)
	}
	return nil
}

// ValidSegment reports why s cannot be one path segment (a store, app or
// variant directory name).
func ValidSegment(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("%q is not a valid directory name", s)
	}
	return nil
}

// IgnorePath and IgnoreContent keep Write's own bookkeeping (the index of
// written files and the journal of an apply) out of the deploy repository.
const (
	IgnorePath    = ".fleetc/.gitignore"
	IgnoreContent = GeneratedHeader + "/index\n/journal/\n/lock\n"
)
