package identity

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fleetc/fleetc/agent/internal/kube"
)

// SecretKey is the data key of the Secret that holds the private key: the
// same PKCS #8 PEM as the key file.
const SecretKey = "key.pem"

// API is what a Secret key store needs from the API server.
type API interface {
	Get(ctx context.Context, path string, out any) error
	Create(ctx context.Context, path string, body []byte, out any) error
}

type secret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   secretMeta        `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data"` // base64 in JSON
}

type secretMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// ParseSecretRef reads "NAMESPACE/NAME".
func ParseSecretRef(ref string) (namespace, name string, err error) {
	namespace, name, ok := strings.Cut(ref, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%q: want NAMESPACE/NAME", ref)
	}
	return namespace, name, nil
}

// LoadOrCreateSecret reads the private key from the Secret namespace/name
// (data key SecretKey), first creating the Secret with a new key when there
// is none; created reports that it did. Two agents racing to create it
// both end up with the one the API server kept (a 409 is read back).
func LoadOrCreateSecret(ctx context.Context, api API, namespace, name string) (key ed25519.PrivateKey, created bool, err error) {
	path := "/api/v1/namespaces/" + namespace + "/secrets/" + name
	where := "Secret " + namespace + "/" + name
	var s secret
	err = api.Get(ctx, path, &s)
	var se *kube.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		priv, pemBytes, gerr := newKey()
		if gerr != nil {
			return nil, false, fmt.Errorf("generate key for %s: %w", where, gerr)
		}
		body, _ := json.Marshal(secret{
			APIVersion: "v1", Kind: "Secret", Type: "Opaque",
			Metadata: secretMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/name": "fleetc-agent"}},
			Data:     map[string][]byte{SecretKey: pemBytes},
		})
		cerr := api.Create(ctx, "/api/v1/namespaces/"+namespace+"/secrets", body, nil)
		switch {
		case cerr == nil:
			return priv, true, nil
		case errors.As(cerr, &se) && se.Code == http.StatusConflict:
			err = api.Get(ctx, path, &s) // another agent created it first
		default:
			return nil, false, fmt.Errorf("create %s: %w", where, cerr)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", where, err)
	}
	priv, err := parsePEM(s.Data[SecretKey], where+" data "+SecretKey)
	return priv, false, err
}
