package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dirUnit is one directory of a tree to write and the files directly in
// it.
type dirUnit struct {
	dir   string // slash path below the root; "" is the root
	depth int    // segments in dir
	files []int  // indices into the sorted path list
}

// layoutOf groups sorted paths by directory: every directory below the
// root exactly once (ancestors of files included), ordered by depth, so a
// level can be created in parallel once the level above it exists.
func layoutOf(paths []string) [][]dirUnit {
	units := []dirUnit{{}}
	at := map[string]int{"": 0}
	var add func(d string) int
	add = func(d string) int {
		if u, ok := at[d]; ok {
			return u
		}
		parent := ""
		if j := strings.LastIndexByte(d, '/'); j >= 0 {
			parent = d[:j]
		}
		pu := add(parent) // may grow units: index it after the call
		units = append(units, dirUnit{dir: d, depth: units[pu].depth + 1})
		at[d] = len(units) - 1
		return len(units) - 1
	}
	for i, p := range paths {
		d := ""
		if j := strings.LastIndexByte(p, '/'); j >= 0 {
			d = p[:j]
		}
		u := add(d)
		units[u].files = append(units[u].files, i)
	}
	var levels [][]dirUnit
	for _, u := range units {
		for len(levels) <= u.depth {
			levels = append(levels, nil)
		}
		levels[u.depth] = append(levels[u.depth], u)
	}
	for _, l := range levels {
		slices.SortFunc(l, func(a, b dirUnit) int { return strings.Compare(a.dir, b.dir) })
	}
	return levels
}

// createTree writes the files of t named by paths (sorted) into root, an
// empty directory: each directory is created by one mkdir (its parent is
// known to exist, the levels go top down) and each file by one
// create-and-write; nothing is looked up first. file(i, stat) is called
// for every path index as it is written.
func createTree(root string, t *Tree, paths []string, file func(i int, st fileStat)) error {
	for _, level := range layoutOf(paths) {
		err := parallel(len(level), func(k int) error {
			u := level[k]
			d := filepath.Join(root, filepath.FromSlash(u.dir))
			if u.dir != "" {
				if err := os.Mkdir(d, 0o755); err != nil {
					return err
				}
			}
			for _, i := range u.files {
				p := paths[i]
				st, err := createFile(filepath.Join(d, filepath.FromSlash(p[strings.LastIndexByte(p, '/')+1:])), t.Files[p])
				if err != nil {
					return err
				}
				file(i, st)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
