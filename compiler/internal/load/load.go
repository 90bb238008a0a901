package load

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

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
	results, err := evalFiles(ctx, s, opts, files)
	if err != nil {
		return nil, nil, err
	}
	fleet, diags := merge(s, results)
	diags.Sort()
	return fleet, diags, nil
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

// evalFiles evaluates files on opts.Workers goroutines; results keep the
// order of files whatever order they finish in.
func evalFiles(ctx context.Context, s *schema, opts Options, files []string) ([]fileResult, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(files), 1))
	results := make([]fileResult, len(files))
	errs := make([]error, len(files))
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
					results[i], errs[i] = evalPath(s, opts.Root, files[i])
				}
				done <- i
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
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

// evalPath reads and evaluates one file.
func evalPath(s *schema, root, rel string) (fileResult, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return fileResult{}, fmt.Errorf("read fleet file: %w", err)
	}
	return evalFile(s, rel, src), nil
}
