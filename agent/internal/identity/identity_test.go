package identity

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	k1, created, err := LoadOrCreate(p)
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %04o, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not PKCS #8 PEM: %.40q", b)
	}
	k2, created, err := LoadOrCreate(p)
	if err != nil || created {
		t.Fatalf("second: created=%v err=%v", created, err)
	}
	if !k1.Equal(k2) {
		t.Error("second LoadOrCreate returned another key")
	}
	sig := ed25519.Sign(k2, []byte("x"))
	if !ed25519.Verify(k1.Public().(ed25519.PublicKey), []byte("x"), sig) {
		t.Error("reloaded key does not sign for the created one")
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if _, _, err := LoadOrCreate(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: err %v, want a chmod 600 hint", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("garbage key: err %v, want one naming %s", err, bad)
	}
}
