package deploy

import (
	"slices"
	"testing"
)

// BookkeepingPaths and IsBookkeeping name the same paths: every listed
// path, and everything beneath a listed directory, is bookkeeping; the
// rendered state and decisions are not.
func TestBookkeepingPathsAgreeWithIsBookkeeping(t *testing.T) {
	paths := BookkeepingPaths()
	for _, p := range paths {
		if !IsBookkeeping(p) {
			t.Errorf("IsBookkeeping(%q) = false for a listed path", p)
		}
	}
	if !slices.Contains(paths, journalPath) || !IsBookkeeping(journalPath+"/plan") {
		t.Errorf("the journal and its files must be bookkeeping: %q", paths)
	}
	for _, p := range []string{StatePath, DecisionsPath, IgnorePath, "clusters/s1/kustomization.yaml"} {
		if IsBookkeeping(p) {
			t.Errorf("IsBookkeeping(%q) = true, want false: fleetc renders it", p)
		}
	}
}
