package report

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func sample() *Report {
	return &Report{Schema: Schema, Store: "us-il-chicago-0900", Seq: 7, At: time.Date(2026, 11, 24, 9, 58, 12, 0, time.UTC),
		Nodes: Nodes{Total: 1, Ready: 1}, Apps: map[string]App{"pos": {Version: "5.12.0", Ready: "true"}}}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	b, _ := json.Marshal(sample())
	sig := Sign(priv, b)
	if err := Verify(pub, b, sig); err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := Verify(other, b, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v", err)
	}
	b2 := append([]byte(nil), b...)
	b2[len(b2)-2] ^= 1
	if err := Verify(pub, b2, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a changed body: %v", err)
	}
	if err := Verify(pub, b, ""); !errors.Is(err, ErrNoSignature) {
		t.Errorf("no signature: %v", err)
	}
	text := FormatPublicKey(pub)
	back, err := ParsePublicKey(text)
	if err != nil || !back.Equal(pub) {
		t.Errorf("public key round trip: %v", err)
	}
	for _, bad := range []string{"rsa:AAAA", "ed25519:!!", "ed25519:AAAA"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func TestDecode(t *testing.T) {
	b, _ := json.Marshal(sample())
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body string
		want []string
	}{
		{`{"schema":`, []string{"1:11: unexpected EOF"}},
		{"{\n  \"seq\": \"x\"}", []string{"2:"}},
		{`{"schema":"fleetc.dev/report/v1","color":1}`, []string{`unknown field "color"`}},
		{`{} {}`, []string{"more than one JSON value"}},
		{`{"schema":"v0","store":"Bad Id","seq":0,"nodes":{"total":1,"ready":2},"apps":{"pos":{"ready":"yes"}}}`,
			[]string{`schema: "v0"`, `store: "Bad Id" is not a store id`, "seq: 0", "at: missing", "nodes: 2 ready of 1", `apps.pos.ready: "yes"`, "apps.pos.version: missing"}},
	} {
		_, err := Decode([]byte(tc.body))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Decode(%s) = %v, want it to say %s", tc.body, err, w)
			}
		}
	}
}
