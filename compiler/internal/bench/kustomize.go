package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// KustomizeResult is a sampled per-store kustomize build.
type KustomizeResult struct {
	Sampled  int
	Took     time.Duration
	PerStore time.Duration
	Stores   int
	Total    time.Duration // PerStore × Stores
}

// KustomizePerStore runs a kustomize build of clusters/<store> in the deploy
// tree at dir for the first sample stores (a store directory without a
// kustomization file gets one listing its YAML files, as Flux generates),
// and extrapolates to every store.
func KustomizePerStore(dir string, sample int) (*KustomizeResult, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "clusters"))
	if err != nil {
		return nil, err
	}
	res := &KustomizeResult{Stores: len(entries)}
	start := time.Now()
	for _, e := range entries {
		if res.Sampled == sample {
			break
		}
		if err := buildStore(filepath.Join(dir, "clusters", e.Name())); err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", e.Name(), err)
		}
		res.Sampled++
	}
	res.Took = time.Since(start)
	if res.Sampled > 0 {
		res.PerStore = res.Took / time.Duration(res.Sampled)
	}
	res.Total = res.PerStore * time.Duration(res.Stores)
	return res, nil
}

func buildStore(storeDir string) error {
	fs := filesys.MakeFsOnDisk()
	path := storeDir
	if !hasKustomization(storeDir) {
		// Mirror the store directory in memory with a generated
		// kustomization.yaml, as kustomize-controller does.
		mem := filesys.MakeFsInMemory()
		ents, err := os.ReadDir(storeDir)
		if err != nil {
			return err
		}
		var files []string
		for _, e := range ents {
			if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(storeDir, e.Name()))
			if err != nil {
				return err
			}
			if err := mem.WriteFile("/store/"+e.Name(), b); err != nil {
				return err
			}
			files = append(files, e.Name())
		}
		slices.Sort(files)
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
		for _, f := range files {
			k += "- " + f + "\n"
		}
		if err := mem.WriteFile("/store/kustomization.yaml", []byte(k)); err != nil {
			return err
		}
		fs, path = mem, "/store"
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone // as Flux: references outside the directory allowed
	_, err := krusty.MakeKustomizer(opts).Run(fs, path)
	return err
}

func hasKustomization(dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}
