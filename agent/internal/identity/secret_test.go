package identity

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/agent/internal/kube"
)

// secrets is an API server's secrets in one namespace, as JSON; race
// makes the first create lose to another agent's.
type secrets struct {
	objs    map[string][]byte
	creates int
	race    []byte
	deny    bool
}

func (s *secrets) Get(_ context.Context, path string, out any) error {
	if s.deny {
		return &kube.StatusError{Method: "GET", URL: path, Code: http.StatusForbidden, Message: "secrets \"fleetc-agent-key\" is forbidden"}
	}
	b, ok := s.objs[path[strings.LastIndexByte(path, '/')+1:]]
	if !ok {
		return &kube.StatusError{Method: "GET", URL: path, Code: http.StatusNotFound}
	}
	return json.Unmarshal(b, out)
}

func (s *secrets) Create(_ context.Context, path string, body []byte, _ any) error {
	s.creates++
	var sec secret
	if err := json.Unmarshal(body, &sec); err != nil {
		return err
	}
	if s.race != nil {
		s.objs[sec.Metadata.Name] = s.race
		return &kube.StatusError{Method: "POST", URL: path, Code: http.StatusConflict}
	}
	if path != "/api/v1/namespaces/fleetc-system/secrets" || sec.Kind != "Secret" || sec.Metadata.Namespace != "fleetc-system" || len(sec.Data[SecretKey]) == 0 {
		return &kube.StatusError{Method: "POST", URL: path, Code: http.StatusBadRequest, Message: string(body)}
	}
	s.objs[sec.Metadata.Name] = body
	return nil
}

func TestLoadOrCreateSecret(t *testing.T) {
	ctx := context.Background()
	api := &secrets{objs: map[string][]byte{}}
	k1, created, err := LoadOrCreateSecret(ctx, api, "fleetc-system", "fleetc-agent-key")
	if err != nil || !created || api.creates != 1 {
		t.Fatalf("first start: created %v, %d creates, %v", created, api.creates, err)
	}
	k2, created, err := LoadOrCreateSecret(ctx, api, "fleetc-system", "fleetc-agent-key")
	if err != nil || created || !k1.Equal(k2) || api.creates != 1 {
		t.Fatalf("restart: created %v, same key %v, %d creates, %v", created, k1.Equal(k2), api.creates, err)
	}

	// Two agents at once: the loser reads the winner's key.
	winner := api.objs["fleetc-agent-key"]
	racer := &secrets{objs: map[string][]byte{}, race: winner}
	k3, created, err := LoadOrCreateSecret(ctx, racer, "fleetc-system", "fleetc-agent-key")
	if err != nil || created || !k3.Equal(k1) {
		t.Fatalf("lost the race: created %v, the winner's key %v, %v", created, k3.Equal(k1), err)
	}
	if _, ok := k3.Public().(ed25519.PublicKey); !ok {
		t.Fatal("not an ed25519 key")
	}

	// No access, or not a key: errors that name the Secret.
	if _, _, err := LoadOrCreateSecret(ctx, &secrets{deny: true}, "fleetc-system", "fleetc-agent-key"); err == nil || !strings.Contains(err.Error(), "Secret fleetc-system/fleetc-agent-key") || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("forbidden: %v", err)
	}
	bad := &secrets{objs: map[string][]byte{"fleetc-agent-key": []byte(`{"data":{"key.pem":"bm90IGEga2V5"}}`)}}
	if _, _, err := LoadOrCreateSecret(ctx, bad, "fleetc-system", "fleetc-agent-key"); err == nil || !strings.Contains(err.Error(), "not a PEM") {
		t.Errorf("garbage in the Secret: %v", err)
	}
	for _, ref := range []string{"x", "/x", "x/", "a/b/c"} {
		if _, _, err := ParseSecretRef(ref); err == nil {
			t.Errorf("ParseSecretRef(%q): no error", ref)
		}
	}
}
