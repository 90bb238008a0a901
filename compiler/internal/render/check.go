package render

import (
	"bytes"
	"path"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// Diagnostic codes Check reports.
const (
	CodeMissingRelease = "missing-release" // a store points at a path with no kustomization.yaml
	CodeKustomizeBuild = "kustomize-build" // a directory does not build with kustomize
	CodeUnusedRelease  = "unused-release"  // a release directory no store points at (warning)
	CodeNoStorePath    = "no-store-path"   // a store Kustomization without a path
)

// Check verifies a rendered tree without a cluster: every path a store
// Kustomization names is a directory with a kustomization.yaml; every
// release directory builds with kustomize, once per directory (never per
// store: 1.2M builds would take 90 CPU-minutes); and the first store's
// directory builds as Flux would build it, as a sample. Positions are tree
// paths and lines.
func Check(t *deploy.Tree) diag.List {
	var diags diag.List
	paths := t.Paths()
	releaseDirs := map[string][]string{} // dir -> its file paths
	var stores []string
	for _, p := range paths {
		if strings.HasPrefix(p, "releases/") {
			d := path.Dir(p)
			releaseDirs[d] = append(releaseDirs[d], p)
		}
		if strings.HasPrefix(p, "clusters/") && strings.HasSuffix(p, "/fleet.yaml") {
			stores = append(stores, p)
		}
	}
	used := map[string]bool{}
	for _, sp := range stores {
		for _, ref := range kustomizationPaths(t.Files[sp]) {
			pos := diag.Pos{File: sp, Line: ref.line, Col: 3}
			if ref.path == "" {
				diags.Errorf(pos, "", CodeNoStorePath, "store Kustomization has no path")
				continue
			}
			dir := path.Clean(strings.TrimPrefix(ref.path, "./"))
			used[dir] = true
			if _, ok := t.Files[dir+"/"+fileKustomization]; !ok {
				diags.Errorf(pos, "", CodeMissingRelease, "path %s: no %s in the tree", ref.path, fileKustomization)
			}
		}
	}

	dirs := make([]string, 0, len(releaseDirs))
	for d := range releaseDirs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	// krusty is not goroutine-safe: one Kustomizer, directories in turn.
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for _, d := range dirs {
		kpath := d + "/" + fileKustomization
		if _, ok := t.Files[kpath]; !ok {
			continue // not a release root (e.g. a file directly under releases/<app>)
		}
		if !used[d] {
			diags.Warnf(diag.Pos{File: kpath}, "", CodeUnusedRelease, "no store uses %s", d)
		}
		fs := filesys.MakeFsInMemory()
		for _, p := range releaseDirs[d] {
			if err := fs.WriteFile(p, t.Files[p]); err != nil {
				diags.Errorf(diag.Pos{File: p}, "", CodeKustomizeBuild, "%v", err)
			}
		}
		if _, err := k.Run(fs, d); err != nil {
			diags.Errorf(diag.Pos{File: kpath}, "", CodeKustomizeBuild, "kustomize build %s: %v", d, err)
		}
	}

	if len(stores) > 0 {
		// What Flux does for a directory without kustomization.yaml:
		// generate one listing its manifests.
		sp := stores[0]
		d := path.Dir(sp)
		fs := filesys.MakeFsInMemory()
		gen := []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- fleet.yaml\n")
		if err := fs.WriteFile(d+"/"+fileKustomization, gen); err == nil {
			if err := fs.WriteFile(sp, t.Files[sp]); err == nil {
				if _, err := k.Run(fs, d); err != nil {
					diags.Errorf(diag.Pos{File: sp}, "", CodeKustomizeBuild, "kustomize build %s: %v", d, err)
				}
			}
		}
	}
	diags.Sort()
	return diags
}

type pathRef struct {
	path string
	line int
}

// kustomizationPaths finds each document's spec.path in a fleet.yaml as
// render writes it: "spec:" at column 1 and "path:" at column 3 under it.
// It reads only what render writes; Check's sample build parses one store
// file fully.
func kustomizationPaths(data []byte) []pathRef {
	var refs []pathRef
	inSpec := false
	var cur *pathRef
	line := 0
	for len(data) > 0 {
		line++
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		switch {
		case bytes.Equal(l, []byte("---")):
			if cur != nil {
				refs = append(refs, *cur)
			}
			cur = &pathRef{line: line}
			inSpec = false
		case bytes.Equal(l, []byte("spec:")):
			inSpec = true
		case len(l) > 0 && l[0] != ' ' && l[0] != '-':
			inSpec = false
		case inSpec && cur != nil && bytes.HasPrefix(l, []byte("  path: ")):
			v := string(l[len("  path: "):])
			if strings.HasPrefix(v, `"`) {
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				}
			}
			cur.path, cur.line = v, line
		}
	}
	if cur != nil {
		refs = append(refs, *cur)
	}
	return refs
}
