//go:build !unix

package deploy

import (
	"io/fs"
	"os"
)

// statOf is what the index records of a file where there is no inode:
// size and mtime.
func statOf(fi fs.FileInfo) fileStat {
	return fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// createFile creates name, which must not exist, holding data, and
// returns its stat.
func createFile(name string, data []byte) (fileStat, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fileStat{}, err
	}
	_, err = f.Write(data)
	var st fileStat
	if err == nil {
		var fi fs.FileInfo
		if fi, err = f.Stat(); err == nil {
			st = statOf(fi)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}
