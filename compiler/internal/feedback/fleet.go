package feedback

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// Fleet is what the collector needs from the monorepo: each store's agent
// key, its ring and the rings' order, and when a report is stale.
type Fleet struct {
	Keys       map[string]ed25519.PublicKey // store id → agent public key
	KeyText    map[string]string            // store id → the key as the inventory writes it
	Stores     map[string]bool              // every store id, with a key or not
	Ring       map[string]string            // store id → ring ("" when none)
	Rings      []string                     // ring order
	StaleAfter time.Duration
	// Digest names the fleet files' sizes and times the fleet was read at.
	Digest string
}

// LoadFleet reads root like `fleetc validate` and returns the collector's
// view. A fleet with errors is an error: the collector keeps serving the
// last good one rather than take keys from a half-read inventory.
func LoadFleet(ctx context.Context, root, cacheDir string) (*Fleet, error) {
	digest, err := fleetDigest(root)
	if err != nil {
		return nil, err
	}
	f, diags, err := load.Load(ctx, load.Options{Root: root, CacheDir: cacheDir})
	if err != nil {
		return nil, err
	}
	if err := diags.Err(); err != nil {
		return nil, fmt.Errorf("the fleet in %s has errors (fleetc validate --root %s shows them all):\n%w", root, root, err)
	}
	t, diags := target.Resolve(ctx, f, target.Options{})
	if err := diags.Err(); err != nil {
		return nil, fmt.Errorf("the fleet in %s has errors (fleetc validate --root %s shows them all):\n%w", root, root, err)
	}
	out := &Fleet{Keys: map[string]ed25519.PublicKey{}, KeyText: map[string]string{}, Stores: map[string]bool{},
		Ring: t.StoreRing, StaleAfter: time.Duration(f.Settings.Rollout.StaleAfter), Digest: digest}
	for _, r := range f.Rings {
		out.Rings = append(out.Rings, r.Name)
	}
	for _, s := range f.Stores {
		out.Stores[s.ID] = true
		if s.Agent == nil {
			continue
		}
		k, err := report.ParsePublicKey(s.Agent.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("%s: stores.%s.agent: %w", s.Pos, s.ID, err)
		}
		out.Keys[s.ID], out.KeyText[s.ID] = k, s.Agent.PublicKey
	}
	return out, nil
}

// fleetDigest fingerprints the fleet files (names, sizes, modification
// times) and the schemas, so a poll sees an edit without reading them.
func fleetDigest(root string) (string, error) {
	files, err := load.Files(root)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	stat := func(rel string) {
		if fi, err := os.Stat(filepath.Join(root, rel)); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", rel, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	for _, f := range files {
		stat(f)
	}
	_ = filepath.WalkDir(filepath.Join(root, "schemas"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			stat(rel)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}
