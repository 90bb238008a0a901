package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	// The tz database is embedded so timezone checks do not depend on
	// the host.
	_ "time/tzdata"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// Options configure Load.
type Options struct {
	// Root is the repository root; files are reported relative to it with
	// forward slashes.
	Root string
	// Workers evaluate files in parallel; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Progress, when set, is called from Load's goroutine as files finish.
	Progress func(done, total int)
	// CacheDir, when set, holds each file's evaluated result (under
	// CacheDir/load/) keyed by a content hash of the schemas, the loader
	// and the file's name and bytes; a file whose key is there is not
	// evaluated again. Results with diagnostics are cached too. ""
	// disables the cache. Directories are created when needed; entries
	// that cannot be read or fail their checksum are misses, and failing
	// to write one is ignored. Nothing is ever evicted.
	CacheDir string
}

// fleetDirs hold fleet files, walked recursively.
var fleetDirs = []string{"inventory", "apps", "rings"}

// Load reads, validates and decodes every fleet file under opts.Root and
// returns the indexed fleet with every finding. The fleet is returned
// even when there are errors (without the entities that failed); the
// error is for I/O problems and cancellation only.
func Load(ctx context.Context, opts Options) (*model.Fleet, diag.List, error) {
	s, diags, err := loadSchema(opts.Root)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		diags.Sort()
		fleet := &model.Fleet{}
		fleet.Index()
		return fleet, diags, nil
	}
	files, err := Files(opts.Root)
	if err != nil {
		return nil, nil, err
	}
	defer tuneGC()()
	results, err := evalFiles(ctx, s, opts, files)
	if err != nil {
		return nil, nil, err
	}
	fleet, diags := merge(s, results, nil)
	diags.Sort()
	return fleet, capDiags(diags), nil
}

// Files lists the fleet files under root, relative with forward slashes
// and sorted: fleet.cue at the root and every *.cue file under
// inventory/, apps/ and rings/, skipping cue.mod and names starting with
// "." or "_".
func Files(root string) ([]string, error) {
	var files []string
	if fi, err := os.Stat(filepath.Join(root, "fleet.cue")); err == nil && fi.Mode().IsRegular() {
		files = append(files, "fleet.cue")
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list fleet files: %w", err)
	}
	for _, dir := range fleetDirs {
		top := filepath.Join(root, dir)
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == top && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir
				}
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != top && (name == "cue.mod" || skipName(name)) {
					return fs.SkipDir
				}
				return nil
			}
			if skipName(name) || !strings.HasSuffix(name, ".cue") || !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list fleet files: %w", err)
		}
	}
	slices.Sort(files)
	return files, nil
}

func skipName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// While files are evaluated the GC runs at loadGCPercent, under a soft
// memory limit of the heap in use at the start plus loadHeadroom.
const (
	loadGCPercent = 400
	loadHeadroom  = 448 << 20
)

// tuneGC makes the collector run less often during Load and returns the
// function that restores the previous settings. CUE evaluation allocates
// a lot of short-lived garbage over a small live heap (one fresh context
// per file in flight): GOGC=400 saves up to a quarter of the CPU, and the
// memory limit keeps the peak of a 60,000-store load under ~600 MB
// (GOGC=400 alone: 1.2 GB). GOGC or GOMEMLIMIT set by the user leave
// everything alone.
func tuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := debug.SetMemoryLimit(int64(ms.HeapInuse + ms.StackInuse + loadHeadroom))
	percent := debug.SetGCPercent(loadGCPercent)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// evaluations counts evalFile calls, for tests of the cache.
var evaluations atomic.Int64

// fastFiles counts files the store fast path (fast.go) decoded, for tests.
var fastFiles atomic.Int64

// evalFiles evaluates files on opts.Workers goroutines, largest first so
// a big file does not start last; results keep the order of files
// whatever order they finish in.
func evalFiles(ctx context.Context, s *schema, opts Options, files []string) ([]fileResult, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(files), 1))
	results := make([]fileResult, len(files))
	errs := make([]error, len(files))
	order := bySizeDesc(opts.Root, files)
	var cache, sums *fileCache
	if opts.CacheDir != "" {
		cache, sums = resultCache(opts.CacheDir), summaryCache(opts.CacheDir)
	}
	jobs := make(chan int)
	done := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := ctx.Err(); err != nil {
					errs[i] = err
				} else {
					results[i], errs[i] = evalPath(s, cache, sums, opts.Root, files[i])
				}
				done <- i
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, i := range order {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	n := 0
	for range done {
		n++
		if opts.Progress != nil {
			opts.Progress(n, len(files))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// evalPath reads one file and evaluates it, or takes its result from the
// cache. With a cache, the file's summary (LoadStore) is written too when
// it is not there yet.
func evalPath(s *schema, cache, sums *fileCache, root, rel string) (fileResult, error) {
	src, err := readInto(filepath.Join(root, filepath.FromSlash(rel)), nil)
	var big errTooLarge
	if errors.As(err, &big) {
		return tooLargeFile(rel, big.size), nil
	}
	if err != nil {
		return fileResult{}, fmt.Errorf("read fleet file: %w", err)
	}
	if cache == nil {
		return evalFile(s, rel, src), nil
	}
	key := cacheKey(s.hash, rel, src)
	r, hit := cache.get(key, rel)
	if !hit {
		r = evalFile(s, rel, src)
		_ = cache.put(key, &r) // a cache that cannot be written only costs time
	}
	if !hit || !sums.has(key) {
		_ = sums.write(key, encodeSummary(summarize(&r)))
	}
	return r, nil
}

// bySizeDesc returns the indexes of files, largest file first (ties and
// files that cannot be stat'ed in name order).
func bySizeDesc(root string, files []string) []int {
	sizes := make([]int64, len(files))
	order := make([]int, len(files))
	for i, f := range files {
		order[i] = i
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(f))); err == nil {
			sizes[i] = fi.Size()
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(sizes[b], sizes[a]) })
	return order
}
