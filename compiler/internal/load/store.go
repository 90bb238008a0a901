package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// StoreView is the fleet as the explanation of one store needs it
// (LoadStore).
type StoreView struct {
	// Fleet holds the store and every entity that is not a store
	// (settings, groups, apps, rings, freezes, overrides, teams), indexed,
	// exactly as Load returns them.
	Fleet *model.Fleet
	// Jurisdiction lists every store the fleet declares in the store's
	// jurisdiction, the store included: the same country and region,
	// compared as "country-region" like the policy gate keys them.
	Jurisdiction []string
	// Files is the number of fleet files, Decoded how many of them were
	// decoded in full (the others were read for their summary only), and
	// Stores how many stores the fleet declares.
	Files, Decoded, Stores int
}

// LoadStore loads what explaining store id needs without decoding every
// store of the fleet. Every fleet file is read and hashed as by Load; a
// file that declares only stores, has no findings and does not declare id
// is known by its summary (its stores' ids and jurisdictions, cached next
// to its result under the same key, so a summary is exactly as fresh as
// the file); every other file is decoded from the cache, or evaluated, as
// by Load. The cross-file checks run on the decoded files, and references
// to stores are looked up in the summaries of the others.
//
// It returns a nil view, with the reason, whenever its answer for this
// store could differ from Load's: caching is off, the schemas have
// findings, no file or more than one declares id, or the files it decodes
// have any finding. The caller then falls back to Load, which reports
// everything. Findings that only the files it does not decode would show
// (another store's reference to an unknown app, a store id declared twice
// elsewhere) are not looked for: they are not about this store.
func LoadStore(ctx context.Context, opts Options, id string) (*StoreView, string, error) {
	if opts.CacheDir == "" {
		return nil, "the cache is off", nil
	}
	s, diags, err := loadSchema(opts.Root)
	if err != nil {
		return nil, "", err
	}
	if s == nil || len(diags) > 0 {
		return nil, "the schemas have findings", nil
	}
	files, err := Files(opts.Root)
	if err != nil {
		return nil, "", err
	}
	defer tuneGC()()
	scans, err := scanFiles(ctx, s, opts, files, id)
	if err != nil {
		return nil, "", err
	}
	view := &StoreView{Files: len(files)}
	var results []fileResult
	declaredBy := 0
	for i := range scans {
		sc := &scans[i]
		view.Stores += sc.sum.len()
		if sc.declares {
			declaredBy++
		}
		if sc.res == nil {
			continue
		}
		if len(sc.res.Diags) > 0 {
			return nil, files[i] + " has findings", nil
		}
		results = append(results, *sc.res)
	}
	switch {
	case declaredBy == 0:
		return nil, fmt.Sprintf("no file declares store %q", id), nil
	case declaredBy > 1:
		return nil, fmt.Sprintf("%d files declare store %q", declaredBy, id), nil
	}
	referenced := storeRefs(results)
	if len(referenced) > 0 {
		for i := range scans {
			for k := range scans[i].sum.len() {
				sid, _ := scans[i].sum.store(k)
				if found, ok := referenced[sid]; ok && !found {
					referenced[sid] = true
				}
			}
		}
	}
	fleet, diags := merge(s, results, func(id string) bool { return referenced[id] })
	if len(diags) > 0 {
		return nil, "the files it decodes have findings", nil
	}
	store := fleet.StoreByID[id]
	if store == nil { // declared by a decoded file without findings: cannot happen
		return nil, fmt.Sprintf("store %q was not decoded", id), nil
	}
	fleet.Stores = []*model.Store{store}
	fleet.Index()
	view.Fleet, view.Decoded = fleet, len(results)
	view.Jurisdiction = sameJurisdiction(scans, store.Jurisdiction)
	return view, "", nil
}

// storeRefs returns the ids of stores the entities of results refer to
// (groups' and rings' store lists), each false.
func storeRefs(results []fileResult) map[string]bool {
	ids := map[string]bool{}
	add := func(refs []model.Ref) {
		for _, r := range refs {
			if r.Kind == model.RefStore {
				ids[r.Name] = false
			}
		}
	}
	for i := range results {
		r := &results[i]
		eachRefs(r.Stores, r.Groups, r.Apps, r.Rings, r.Freezes, r.Overrides, r.Halts, add)
	}
	return ids
}

// sameJurisdiction lists the stores of every summary whose country and
// region, as "country-region", are j's.
func sameJurisdiction(scans []scanned, j model.Jurisdiction) []string {
	key := j.Country + "-" + j.Region
	var ids []string
	match := []bool{}
	for i := range scans {
		sum := &scans[i].sum
		match = match[:0]
		hit := false
		for _, sj := range sum.juris {
			m := sj.Country+"-"+sj.Region == key
			match = append(match, m)
			hit = hit || m
		}
		if !hit {
			continue
		}
		for k := range sum.len() {
			if sid, ji := sum.store(k); match[ji] {
				ids = append(ids, sid)
			}
		}
	}
	return ids
}

// scanned is one fleet file as LoadStore saw it: its summary, whether it
// declares the store, and its result when it is decoded.
type scanned struct {
	sum      fileSummary
	declares bool
	res      *fileResult
}

// scanFiles reads every file on opts.Workers goroutines, takes its
// summary from the cache (or from its result, then caching the summary),
// and decodes the files that declare id or anything but stores.
func scanFiles(ctx context.Context, s *schema, opts Options, files []string, id string) ([]scanned, error) {
	cache, sums := resultCache(opts.CacheDir), summaryCache(opts.CacheDir)
	out := make([]scanned, len(files))
	errs := make([]error, len(files))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // reused: most files are only hashed
			for i := range jobs {
				if errs[i] = ctx.Err(); errs[i] == nil {
					out[i], buf, errs[i] = scanFile(s, cache, sums, opts.Root, files[i], id, buf)
				}
			}
		}()
	}
	for _, i := range bySizeDesc(opts.Root, files) {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// scanFile reads rel into buf (returned, grown as needed) and finds its
// summary and, when needed, its result.
func scanFile(s *schema, cache, sums *fileCache, root, rel, id string, buf []byte) (scanned, []byte, error) {
	src, err := readInto(filepath.Join(root, filepath.FromSlash(rel)), buf)
	var big errTooLarge
	if errors.As(err, &big) {
		r := tooLargeFile(rel, big.size)
		sum := summarize(&r)
		return scanned{res: &r, sum: sum, declares: sum.declares(id)}, buf, nil
	}
	if err != nil {
		return scanned{}, buf, fmt.Errorf("read fleet file: %w", err)
	}
	buf = src
	key := cacheKey(s.hash, rel, src)
	var sc scanned
	result := func() *fileResult {
		r, ok := cache.get(key, rel)
		if !ok {
			r = evalFile(s, rel, bytes.Clone(src))
			_ = cache.put(key, &r) // a cache that cannot be written only costs time
		}
		return &r
	}
	payload, ok := sums.read(key)
	if ok {
		sc.sum, err = decodeSummary(payload)
		ok = err == nil
	}
	if !ok {
		sc.res = result()
		sc.sum = summarize(sc.res)
		_ = sums.write(key, encodeSummary(sc.sum))
	}
	sc.declares = sc.sum.declares(id)
	if !sc.sum.other && !sc.declares {
		sc.res = nil
	} else if sc.res == nil {
		sc.res = result()
	}
	return sc, buf, nil
}

// readInto reads the file at path into buf's storage, growing it when the
// file is larger.
func readInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileBytes {
		return nil, errTooLarge{fi.Size()}
	}
	size := int(fi.Size()) + 1 // one more byte to see the end of a file that grew
	if cap(buf) < size {
		buf = make([]byte, 0, size+size/4)
	}
	buf = buf[:0]
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) > MaxFileBytes {
			return nil, errTooLarge{int64(len(buf))}
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
