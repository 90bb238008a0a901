//go:build !unix

package deploy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// syncTree fsyncs every staged file where sync(2) is not available.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// syscallENOTDIR matches nothing where ENOTDIR is not an error number.
var syscallENOTDIR = errors.New("not a directory")
