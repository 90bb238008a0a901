// Package report is the wire format between fleetc-agent and the feedback
// collector: one signed JSON report per store and interval.
//
// A report travels as the body of POST /v1/reports. Its signature is an
// ed25519 signature over the exact body bytes, sent in the
// Fleetc-Signature header as "ed25519=<base64>"; the Fleetc-Store header
// names the store whose key signed it. The collector checks the signature
// against the public key the inventory declares for that store
// (stores: <id>: agent: publicKey: "ed25519:<base64>") before it reads
// anything else, then that the body's store is the header's (a report
// signed by one store for another is rejected), and that seq grows.
//
// The package uses the standard library only, so the agent stays small.
package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Schema is the value of every report's schema field.
const Schema = "fleetc.dev/report/v1"

// Headers of POST /v1/reports.
const (
	HeaderSignature = "Fleetc-Signature"
	HeaderStore     = "Fleetc-Store"
)

// MaxBytes is the largest body an agent sends and the collector's default
// limit: a store runs tens of apps, each a few hundred bytes.
const MaxBytes = 256 << 10

// Report is what one store says about itself at one moment.
type Report struct {
	Schema string `json:"schema"`
	Store  string `json:"store"`
	// Seq grows by at least one with every report the store's agent makes
	// (gaps are allowed); the collector refuses one not above the last it
	// accepted for the store and key.
	Seq   uint64    `json:"seq"`
	At    time.Time `json:"at"` // when the agent read the cluster
	Agent string    `json:"agent,omitempty"`
	Nodes Nodes     `json:"nodes"`
	// Apps by fleetc app id: the Flux objects fleetc rendered for the store.
	Apps map[string]App `json:"apps"`
}

// Nodes is the store cluster's heartbeat.
type Nodes struct {
	Total int `json:"total"`
	Ready int `json:"ready"`
}

// App is one app's state in the store, from its Flux Kustomization (and
// the HelmRelease or inner Kustomization it applies).
type App struct {
	Version  string     `json:"version"`            // fleetc.dev/version label
	Variant  string     `json:"variant,omitempty"`  // fleetc.dev/variant label
	Revision string     `json:"revision,omitempty"` // status.lastAppliedRevision
	Ready    string     `json:"ready"`              // "true", "false" or "unknown"
	Reason   string     `json:"reason,omitempty"`
	Message  string     `json:"message,omitempty"`
	Since    *time.Time `json:"since,omitempty"` // the Ready condition's lastTransitionTime
	// Held is the version that waits at the store for its window (the
	// window gate is closed); the app still runs Version, and Ready is
	// that of what it runs.
	Held string `json:"held,omitempty"`
	// Health is the result of the app's health probe, when it declares one.
	Health *Health `json:"health,omitempty"`
}

// Health is one probe's result.
type Health struct {
	OK      bool      `json:"ok"`
	Status  int       `json:"status,omitempty"` // HTTP status, 0 when none came back
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

var idRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Decode reads a report strictly: unknown fields, a second value, another
// schema or an invalid field are errors that say where.
func Decode(body []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, jsonError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value in the body")
	}
	return &r, r.Validate()
}

// Validate checks what Decode cannot.
func (r *Report) Validate() error {
	var errs []string
	if r.Schema != Schema {
		errs = append(errs, fmt.Sprintf("schema: %q, want %q", r.Schema, Schema))
	}
	if !idRE.MatchString(r.Store) {
		errs = append(errs, fmt.Sprintf("store: %q is not a store id", r.Store))
	}
	if r.Seq == 0 || r.Seq > math.MaxInt64 {
		errs = append(errs, fmt.Sprintf("seq: %d, must be from 1 to 2^63-1", r.Seq))
	}
	if r.At.IsZero() {
		errs = append(errs, "at: missing")
	}
	if r.Nodes.Total < 0 || r.Nodes.Ready < 0 || r.Nodes.Ready > r.Nodes.Total {
		errs = append(errs, fmt.Sprintf("nodes: %d ready of %d", r.Nodes.Ready, r.Nodes.Total))
	}
	apps := make([]string, 0, len(r.Apps))
	for id := range r.Apps {
		apps = append(apps, id)
	}
	sort.Strings(apps)
	for _, id := range apps {
		a := r.Apps[id]
		if !idRE.MatchString(id) {
			errs = append(errs, fmt.Sprintf("apps: %q is not an app id", id))
		}
		switch a.Ready {
		case "true", "false", "unknown":
		default:
			errs = append(errs, fmt.Sprintf("apps.%s.ready: %q, want \"true\", \"false\" or \"unknown\"", id, a.Ready))
		}
		if a.Version == "" {
			errs = append(errs, fmt.Sprintf("apps.%s.version: missing", id))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// jsonError gives a decode error its line and column.
func jsonError(body []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(body))
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err
	}
	line, col := 1, 1
	for _, c := range body[:min(int(off), len(body))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%d:%d: %v", line, col, err)
}

// KeyPrefix starts every public key written in the inventory.
const KeyPrefix = "ed25519:"

// FormatPublicKey writes a public key as the inventory holds it.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return KeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads "ed25519:<base64 of 32 bytes>".
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(s, KeyPrefix)
	if !ok {
		return nil, fmt.Errorf("public key %q: want %s<base64>", abbrev(s), KeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("public key %q: %v", abbrev(s), err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: %d bytes, want %d", abbrev(s), len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func abbrev(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// Sign returns the Fleetc-Signature header value for body.
func Sign(priv ed25519.PrivateKey, body []byte) string {
	return "ed25519=" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, body))
}

// ErrNoSignature and ErrBadSignature tell a missing signature (401) from
// one that does not verify (403).
var (
	ErrNoSignature  = errors.New("no " + HeaderSignature + " header")
	ErrBadSignature = errors.New("signature does not verify with the store's public key")
)

// Verify checks a Fleetc-Signature header value over body.
func Verify(pub ed25519.PublicKey, body []byte, header string) error {
	if header == "" {
		return ErrNoSignature
	}
	b64, ok := strings.CutPrefix(header, "ed25519=")
	if !ok {
		return fmt.Errorf("%w: %s is not ed25519=<base64>", ErrBadSignature, HeaderSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s is not a %d-byte base64 signature", ErrBadSignature, HeaderSignature, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, body, sig) {
		return ErrBadSignature
	}
	return nil
}
