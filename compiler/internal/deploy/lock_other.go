//go:build !unix

package deploy

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("lock held by another process")

const oNoFollow = 0

// flock is a no-op where flock(2) is not available: one writer at a time
// is then the caller's to ensure.
func flock(*os.File) error { return nil }
