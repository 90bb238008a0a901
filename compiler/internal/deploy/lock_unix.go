//go:build unix

package deploy

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = errors.New("lock held by another process")

const oNoFollow = syscall.O_NOFOLLOW

// flock takes an exclusive flock on f without waiting.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EWOULDBLOCK:
			return errWouldBlock
		default:
			return err
		}
	}
}
