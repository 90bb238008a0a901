package render

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// Options configure Render.
type Options struct {
	// Settings.DeployRepoSource names the GitRepository every store's Flux
	// was bootstrapped with ("flux-system" when empty).
	Settings model.Settings
	// Workers render store files in parallel; 0 means GOMAXPROCS.
	Workers int
	// Previous is the state of the tree being replaced (nil: none); a
	// profile keeps its name from there, so stores' entry points change
	// only when a store moves to another profile.
	Previous *deploy.State
}

func (o *Options) deployRepoSource() string {
	if o.Settings.DeployRepoSource == "" {
		return fluxNamespace
	}
	return o.Settings.DeployRepoSource
}

// Render turns st into the deploy tree: one release directory per variant
// some store runs, one profile directory per distinct (ring, app →
// variant) set, one tiny entry point per store pointing at its profile,
// and .fleetc/state.json. It names the profiles first
// (st.AssignProfiles(opts.Previous)), so it sets st.Stores[*].Profile.
// storeFacts gives each store's substitution values; nil, or an empty
// field, falls back to the id and the state's ring. The result is
// byte-identical for the same state and previous state whatever Workers is.
func Render(ctx context.Context, st *deploy.State, storeFacts func(id string) StoreVars, opts Options) (*deploy.Tree, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	releases, err := renderReleases(st, &opts)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	ids := st.StoreIDs()
	for _, id := range ids {
		if err := checkStoreID(id); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		if r := st.Stores[id].Ring; r != "" {
			if err := checkStoreID(r); err != nil {
				return nil, fmt.Errorf("render: store %q: ring: %w", id, err)
			}
		}
	}
	st.AssignProfiles(opts.Previous)
	profiles, err := renderProfiles(st, releases, &opts)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	files := make([][]byte, len(ids))
	if err := renderStores(ctx, st, ids, files, storeFacts, &opts); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}

	t := deploy.NewTree(len(ids) + 2*len(profiles) + 3*len(releases) + 2)
	for i, id := range ids {
		t.Files[StorePath(id)] = files[i]
	}
	for name, p := range profiles {
		t.Files[ProfileDir(name)+"/"+fileKustomization] = p[0]
		t.Files[ProfileDir(name)+"/"+fileProfileApps] = p[1]
	}
	for _, rel := range releases {
		t.Files[rel.dir+"/"+fileKustomization] = rel.files[0]
		t.Files[rel.dir+"/"+fileSource] = rel.files[1]
		t.Files[rel.dir+"/"+fileRelease] = rel.files[2]
	}
	state, err := st.Marshal()
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if opts.Settings.Agent.EnforceWindows {
		t.Files[GatePath+"/"+fileKustomization] = []byte(gateFile)
	}
	t.Files[deploy.StatePath] = state
	t.Files[deploy.IgnorePath] = []byte(deploy.IgnoreContent)
	return t, nil
}

// renderProfiles renders each profile once, from any of its stores (they
// all run the same apps in the same ring). Stores that run nothing need
// no profile.
func renderProfiles(st *deploy.State, releases map[string]*release, opts *Options) (map[string][2][]byte, error) {
	reps := map[string]*deploy.StoreState{}
	for _, s := range st.Stores {
		if len(s.Apps) > 0 && reps[s.Profile] == nil {
			reps[s.Profile] = s
		}
	}
	out := make(map[string][2][]byte, len(reps))
	memo := map[string][]byte{}
	for name, s := range reps {
		if err := deploy.ValidSegment(name); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		p, err := renderProfile(name, s, st, releases, memo, opts)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	return out, nil
}

// renderReleases renders every variant some store runs, once.
func renderReleases(st *deploy.State, opts *Options) (map[string]*release, error) {
	used := map[string]bool{}
	for id, s := range st.Stores {
		for app, vid := range s.Apps {
			if st.Variants[vid] == nil {
				return nil, fmt.Errorf("store %q app %q: unknown variant %q", id, app, vid)
			}
			used[vid] = true
		}
	}
	ids := make([]string, 0, len(used))
	for vid := range used {
		ids = append(ids, vid)
	}
	slices.Sort(ids)
	releases := make(map[string]*release, len(ids))
	dirs := map[string]string{}
	for _, vid := range ids {
		v := st.Variants[vid]
		if v.App == GateName && opts.Settings.Agent.EnforceWindows {
			return nil, fmt.Errorf("variant %q: app %q has the name of the store's window gate (settings.agent.enforceWindows)", vid, v.App)
		}
		if src := v.Source.Kustomize; src != nil && !strings.HasPrefix(src.URL, "oci://") && v.App == opts.deployRepoSource() {
			return nil, fmt.Errorf("variant %q: app %q has the name of the deploy repository's GitRepository", vid, v.App)
		}
		rel, err := renderRelease(vid, v)
		if err != nil {
			return nil, err
		}
		if other, dup := dirs[rel.dir]; dup {
			return nil, fmt.Errorf("variants %q and %q share directory %s", other, vid, rel.dir)
		}
		dirs[rel.dir] = vid
		releases[vid] = rel
	}
	return releases, nil
}

// renderStores fills files[i] with the entry point of ids[i], stores
// split into contiguous chunks over the workers.
func renderStores(ctx context.Context, st *deploy.State, ids []string, files [][]byte,
	storeFacts func(string) StoreVars, opts *Options) error {
	workers := max(1, min(opts.Workers, len(ids)))
	chunk := (len(ids) + workers - 1) / max(1, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min(len(ids), (w+1)*chunk)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if i%1024 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				id := ids[i]
				s := st.Stores[id]
				sv, err := storeVars(id, s, storeFacts)
				if err != nil {
					errs[w] = err
					return
				}
				profile := ""
				if len(s.Apps) > 0 {
					profile = s.Profile
				}
				files[i] = appendStoreEntry(make([]byte, 0, 512), id, profile, sv, s, opts.Settings.Agent.EnforceWindows)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func storeVars(id string, s *deploy.StoreState, facts func(string) StoreVars) (StoreVars, error) {
	var sv StoreVars
	if facts != nil {
		sv = facts(id)
	}
	if sv.ID == "" {
		sv.ID = id
	}
	if sv.ID != id {
		return sv, fmt.Errorf("store %q: facts are for store %q", id, sv.ID)
	}
	switch {
	case sv.Ring == "":
		sv.Ring = s.Ring
	case s.Ring != "" && sv.Ring != s.Ring:
		return sv, fmt.Errorf("store %q: facts say ring %q, state says %q", id, sv.Ring, s.Ring)
	}
	if err := checkStoreID(sv.Ring); sv.Ring != "" && err != nil {
		return sv, fmt.Errorf("store %q: ring: %w", id, err)
	}
	return sv, nil
}

// checkStoreID: a store id is a directory name and appears in comments.
func checkStoreID(id string) error {
	if err := deploy.ValidSegment(id); err != nil {
		return fmt.Errorf("store id: %w", err)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return fmt.Errorf("store id %q has a control character", id)
		}
	}
	return nil
}
