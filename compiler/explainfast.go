package compiler

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

// explainFast explains storeID without analysing the whole fleet:
//
//   - load.LoadStore decodes the files that declare the store or anything
//     but stores, and knows the other stores (ids and jurisdictions) from
//     per-file summaries cached next to each file's result;
//   - targeting runs for that one store: group and ring membership,
//     targets and values of a store depend on that store alone (selectors
//     test the store's own facts and its groups; there are no percentage
//     or count-based rings), and a variant's id is a hash of its content;
//   - the previous state is read through its cached index (stateindex.go):
//     the store's own apps and variants, and the history the sign-off rules
//     read (versions its ring ran, apps its jurisdiction has), built from
//     every store of the previous state as gate.Run builds it;
//   - the gate runs for that store as on the full path.
//
// It gives up with a *fallbackError saying why (Explain then takes the
// full path) on
// anything it cannot decide exactly as the full path would: no cache, an
// unknown or duplicate store id, any finding in the files it decodes or
// in the store's targeting (a ring-membership error, a missing
// dependency), an unknown app, any error or failing finding after that.
// Fleet-wide findings about other stores (a store in no ring, a
// dependency another store lacks, a file with errors that does not
// concern this store) are not looked for: validate and compile report
// them.
func explainFast(ctx context.Context, opts Options, storeID string, apps []string) (*Result, []Explanation, error) {
	if opts.CacheDir == "" {
		return nil, nil, fallback("the cache is off")
	}
	res := &Result{}
	st := res.stage(opts, "load")
	view, why, err := load.LoadStore(ctx, load.Options{Root: opts.Root, Workers: opts.Workers, CacheDir: opts.CacheDir}, storeID)
	if err != nil {
		return nil, nil, fallback(err.Error())
	}
	if view == nil {
		return nil, nil, fallback(why)
	}
	res.Fleet = view.Fleet
	st.done(fmt.Sprintf("store %s: %d of %d files decoded, %d stores known", storeID, view.Decoded, view.Files, view.Stores))

	st = res.stage(opts, "target")
	targets, diags := target.Resolve(ctx, view.Fleet, target.Options{Workers: 1})
	if len(diags) > 0 {
		return nil, nil, fallback("the store's targeting has findings")
	}
	res.Targets = targets
	st.done(fmt.Sprintf("%d assignments", countAssignments(targets)))
	out, err := targetExplanations(res, storeID, &apps)
	var unknown *target.UnknownError
	if errors.As(err, &unknown) && unknown.Kind == "app" {
		return res, nil, err // every app is loaded: the same error and suggestions
	}
	if err != nil {
		return nil, nil, fallback(err.Error())
	}
	store := view.Fleet.StoreByID[storeID]
	res, out, err = explainGate(ctx, opts, res, storeID, apps, out, func() (*deploy.State, *gate.History, error) {
		return indexedPrevious(opts, storeID, targets.StoreRing[storeID], store.Jurisdiction, view.Jurisdiction)
	})
	switch {
	case err != nil:
		return nil, nil, fallback(err.Error())
	case res.Failed():
		return nil, nil, fallback("findings after targeting")
	}
	return res, out, nil
}

// fallbackError says why explainFast gave up: Explain then takes the full
// path, which gives the answer (or the error) itself.
type fallbackError struct{ why string }

func (e *fallbackError) Error() string { return "explain: whole fleet needed: " + e.why }

func fallback(why string) error { return &fallbackError{why} }

// indexedPrevious reads the previous state of storeID and the history for
// its ring and jurisdiction j (whose stores juris lists) through the state's cached index, indexing
// state.json (and caching the index) when it is not there.
func indexedPrevious(opts Options, storeID, ring string, j model.Jurisdiction, juris []string) (*deploy.State, *gate.History, error) {
	if opts.Out == "" {
		return deploy.NewState(), gate.NewHistory(), nil
	}
	data, err := os.ReadFile(filepath.Join(opts.Out, filepath.FromSlash(deploy.StatePath)))
	if errors.Is(err, fs.ErrNotExist) {
		return deploy.NewState(), gate.NewHistory(), nil
	}
	if err != nil {
		return nil, nil, err
	}
	key := sha256.Sum256(data)
	ix, ok := readPrevIndex(opts.CacheDir, key)
	if !ok {
		st, err := deploy.ParseState(data)
		if err != nil {
			return nil, nil, err
		}
		raw, err := rawVariants(data)
		if err != nil {
			return nil, nil, err
		}
		if ix, err = newPrevIndex(st, raw); err != nil {
			return nil, nil, err
		}
		_ = writePrevIndex(opts.CacheDir, key, ix) // a cache that cannot be written only costs time
	}
	prev, err := ix.state(storeID)
	if err != nil {
		return nil, nil, err
	}
	return prev, ix.history(ring, j, juris), nil
}
