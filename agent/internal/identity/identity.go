// Package identity holds the store agent's ed25519 key pair: the private
// key signs every report; its public key, in the inventory, is how the
// collector knows a report comes from that store.
//
// The key is a PKCS #8 PEM file ("PRIVATE KEY", what openssl reads), mode
// 0600, created atomically at first use (a key file that others can read
// is refused), or the same PEM in a Kubernetes Secret (secret.go).
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fleetc/fleetc/agent/internal/atomicfile"
)

// LoadOrCreate reads the private key at path, first creating it when there
// is none; created reports that it did.
func LoadOrCreate(path string) (key ed25519.PrivateKey, created bool, err error) {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if _, err := atomicfile.RemoveTemps(filepath.Dir(path), filepath.Base(path)); err != nil {
			return nil, false, err
		}
		_, pemBytes, err := newKey()
		if err != nil {
			return nil, false, fmt.Errorf("generate key %s: %w", path, err)
		}
		exists, err := atomicfile.WriteNew(path, pemBytes, 0o600)
		if err != nil {
			return nil, false, err
		}
		created = !exists
	}
	key, err = Load(path)
	return key, created, err
}

// Load reads the private key at path.
func Load(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key %s: mode %04o lets others read the private key; chmod 600 it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return parsePEM(b, path)
}

// newKey makes a key pair and its PKCS #8 PEM, as the key file and the
// Secret hold it.
func newKey() (ed25519.PrivateKey, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parsePEM reads a PKCS #8 PEM ed25519 private key; where names it in
// errors.
func parsePEM(b []byte, where string) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key %s: not a PEM \"PRIVATE KEY\" block", where)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", where, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s: a %T, want an ed25519 key", where, k)
	}
	return priv, nil
}
