package render

import (
	"bytes"
	"path"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
)

// Diagnostic codes Check reports.
const (
	CodeMissingRelease = "missing-release" // a profile points at a path with no kustomization.yaml
	CodeMissingProfile = "missing-profile" // a store entry point names a profile that is not in the tree
	CodeKustomizeBuild = "kustomize-build" // a directory does not build with kustomize
	CodeUnusedRelease  = "unused-release"  // a release directory no profile points at (warning)
	CodeNoStorePath    = "no-store-path"   // an app Kustomization without a path
	CodeStoreConfig    = "store-config"    // a store's build lacks its fleetc-store ConfigMap
)

// maxProfileBuilds bounds how many profiles Check builds with kustomize:
// at fleet scale there are thousands (~5 ms each), all written from the
// same memoised documents; every profile's paths are still checked.
const maxProfileBuilds = 32

// Check verifies a rendered tree without a cluster: every store entry
// point names a profile in the tree; every path a profile's Kustomization
// names is a directory with a kustomization.yaml; every release directory
// builds with kustomize once (never per store: 1.2M builds would take 90
// CPU-minutes); the first maxProfileBuilds profiles build; and the first
// store with apps builds as Flux builds it (kustomize with load
// restrictions off, the deploy repository as root) and yields its
// fleetc-store ConfigMap, as a sample. Positions are tree paths and lines.
func Check(t *deploy.Tree) diag.List {
	var diags diag.List
	paths := t.Paths()
	releaseDirs := map[string][]string{} // dir -> its file paths
	var stores, profiles []string        // entry points, profile dirs
	for _, p := range paths {
		switch {
		case strings.HasPrefix(p, "releases/"):
			d := path.Dir(p)
			releaseDirs[d] = append(releaseDirs[d], p)
		case strings.HasPrefix(p, "clusters/") && strings.Count(p, "/") == 2 && strings.HasSuffix(p, "/"+fileKustomization):
			stores = append(stores, p)
		case strings.HasPrefix(p, "profiles/") && strings.Count(p, "/") == 2 && strings.HasSuffix(p, "/"+fileKustomization):
			profiles = append(profiles, path.Dir(p))
		}
	}
	usedProfiles := map[string]bool{}
	sample := ""
	for _, sp := range stores {
		line, ref := profileRef(t.Files[sp])
		if ref == "" {
			continue
		}
		if sample == "" {
			sample = sp
		}
		dir := path.Join(path.Dir(sp), ref)
		usedProfiles[dir] = true
		if _, ok := t.Files[dir+"/"+fileKustomization]; !ok {
			diags.Errorf(diag.Pos{File: sp, Line: line, Col: 3}, "", CodeMissingProfile, "resource %s: no %s in the tree", ref, fileKustomization)
		}
	}
	if sample == "" && len(stores) > 0 {
		sample = stores[0]
	}
	used := map[string]bool{}
	for _, pd := range profiles {
		ap := pd + "/" + fileProfileApps
		for _, ref := range kustomizationPaths(t.Files[ap]) {
			pos := diag.Pos{File: ap, Line: ref.line, Col: 3}
			if ref.path == "" {
				diags.Errorf(pos, "", CodeNoStorePath, "app Kustomization has no path")
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
	// Flux builds with load restrictions off (fluxcd/pkg/kustomize Build).
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	build := func(dir string, files ...string) resmap.ResMap {
		fs := filesys.MakeFsInMemory()
		for _, p := range files {
			if err := fs.WriteFile(p, t.Files[p]); err != nil {
				diags.Errorf(diag.Pos{File: p}, "", CodeKustomizeBuild, "%v", err)
				return nil
			}
		}
		m, err := k.Run(fs, dir)
		if err != nil {
			diags.Errorf(diag.Pos{File: dir + "/" + fileKustomization}, "", CodeKustomizeBuild, "kustomize build %s: %v", dir, err)
		}
		return m
	}
	for _, d := range dirs {
		kpath := d + "/" + fileKustomization
		if _, ok := t.Files[kpath]; !ok {
			continue // not a release root (e.g. a file directly under releases/<app>)
		}
		if !used[d] {
			diags.Warnf(diag.Pos{File: kpath}, "", CodeUnusedRelease, "no store uses %s", d)
		}
		build(d, releaseDirs[d]...)
	}
	for i, pd := range profiles {
		if i == maxProfileBuilds {
			break
		}
		build(pd, pd+"/"+fileKustomization, pd+"/"+fileProfileApps)
	}
	if sample != "" {
		checkSampleStore(t, sample, build, &diags)
	}
	diags.Sort()
	return diags
}

// checkSampleStore builds one store directory with its profile, as Flux
// does, and checks it generates the fleetc-store ConfigMap.
func checkSampleStore(t *deploy.Tree, sp string, build func(string, ...string) resmap.ResMap, diags *diag.List) {
	files := []string{sp}
	if _, ref := profileRef(t.Files[sp]); ref != "" {
		pd := path.Join(path.Dir(sp), ref)
		if _, ok := t.Files[pd+"/"+fileKustomization]; !ok {
			return // reported above
		}
		files = append(files, pd+"/"+fileKustomization, pd+"/"+fileProfileApps)
	}
	m := build(path.Dir(sp), files...)
	if m == nil {
		return
	}
	for _, r := range m.Resources() {
		if r.GetKind() == "ConfigMap" && r.GetName() == StoreConfigMap && r.GetNamespace() == fluxNamespace {
			data := r.GetDataMap()
			for _, v := range storeVarNames {
				if _, ok := data[v]; !ok {
					diags.Errorf(diag.Pos{File: sp}, "", CodeStoreConfig, "ConfigMap %s lacks %s", StoreConfigMap, v)
				}
			}
			return
		}
	}
	diags.Errorf(diag.Pos{File: sp}, "", CodeStoreConfig, "kustomize build %s: no ConfigMap %s/%s", path.Dir(sp), fluxNamespace, StoreConfigMap)
}

// profileRef finds the "- ../../profiles/<name>" resource of a store
// entry point as render writes it, with its line.
func profileRef(data []byte) (int, string) {
	line := 0
	for len(data) > 0 {
		line++
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if rest, ok := bytes.CutPrefix(l, []byte("- ../../profiles/")); ok {
			return line, "../../profiles/" + string(rest)
		}
	}
	return 0, ""
}

type pathRef struct {
	path string
	line int
}

// kustomizationPaths finds each document's spec.path in a profile's apps.yaml as
// render writes it: "spec:" at column 1 and "path:" at column 3 under it.
// It reads only what render writes; Check's builds parse them fully.
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
