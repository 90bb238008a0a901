package target

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkSize is how many stores a worker takes at a time.
const chunkSize = 256

// parallel calls fn over [0, n) in chunks on up to workers goroutines. fn
// must only write state owned by its indices. It stops handing out chunks
// once ctx is done and returns ctx.Err().
func parallel(ctx context.Context, workers, n int, fn func(lo, hi int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := (n + chunkSize - 1) / chunkSize
	workers = max(1, min(workers, chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				fn(c*chunkSize, min(n, (c+1)*chunkSize))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
