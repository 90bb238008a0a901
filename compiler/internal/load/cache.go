package load

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
)

// loaderVersion is part of every cache key. Bump it whenever a change to
// this package changes what a file evaluates to (diagnostics, defaults,
// positions) without changing the Go types, which are fingerprinted.
const loaderVersion = "load/3"

// cacheMagic starts every entry; the key and a checksum of the payload
// follow, so a truncated, foreign or bit-flipped entry is a miss.
var cacheMagic = []byte("fleetc-load-cache\x00")

var resultFingerprint = sync.OnceValue(func() string {
	return typeFingerprint(reflect.TypeFor[fileResult]())
})

// cacheKey is the content hash a file's result is stored under: the
// schema, the loader (version, Go release for the tz database, types),
// the file's name (diagnostics carry it) and its bytes.
func cacheKey(schemaHash [32]byte, rel string, src []byte) [32]byte {
	h := sha256.New()
	h.Write(cacheMagic)
	h.Write(schemaHash[:])
	for _, s := range []string{loaderVersion, runtime.Version(), resultFingerprint(), rel} {
		writeLenPrefixed(h, []byte(s))
	}
	writeLenPrefixed(h, src)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func writeLenPrefixed(h interface{ Write([]byte) (int, error) }, b []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	h.Write(b)
}

// fileCache is a directory of entries, one file per key, sharded by the
// key's first byte. Every entry starts with magic, the key and a checksum
// of the payload.
type fileCache struct {
	dir   string
	magic []byte
}

// resultCache holds each file's fileResult (codec.go).
func resultCache(cacheDir string) *fileCache {
	return &fileCache{dir: filepath.Join(cacheDir, "load"), magic: cacheMagic}
}

func (c fileCache) path(key [32]byte) string {
	name := hex.EncodeToString(key[:])
	return filepath.Join(c.dir, name[:2], name[2:])
}

// get returns the stored result for key. Anything unreadable, truncated
// or not matching its checksum is a miss.
func (c fileCache) get(key [32]byte, rel string) (fileResult, bool) {
	payload, ok := c.read(key)
	if !ok {
		return fileResult{}, false
	}
	r, err := decodeResult(payload)
	if err != nil || r.File != rel {
		return fileResult{}, false
	}
	return r, true
}

// put stores r under key.
func (c fileCache) put(key [32]byte, r *fileResult) error {
	return c.write(key, encodeResult(r))
}

// read returns the payload stored under key, checked against its
// checksum.
func (c fileCache) read(key [32]byte) ([]byte, bool) {
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(b, c.magic)
	if !ok || len(rest) < 64 || !bytes.Equal(rest[:32], key[:]) {
		return nil, false
	}
	payload := rest[64:]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], rest[32:64]) {
		return nil, false
	}
	return payload, true
}

// has reports whether an entry for key exists, without reading it.
func (c fileCache) has(key [32]byte) bool {
	_, err := os.Stat(c.path(key))
	return err == nil
}

// write stores payload under key: written to a temporary file in the
// same directory and renamed into place, so readers see a whole entry or
// none, and concurrent writers of one key (same bytes) do not clash.
func (c fileCache) write(key [32]byte, payload []byte) error {
	sum := sha256.Sum256(payload)
	b := make([]byte, 0, len(c.magic)+64+len(payload))
	b = append(append(append(append(b, c.magic...), key[:]...), sum[:]...), payload...)
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache: %w", werr)
	}
	return nil
}
