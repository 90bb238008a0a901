package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxBody bounds what one response may hold: a store's lists are tens of
// kilobytes; a runaway one must not take the agent's memory.
const maxBody = 32 << 20

// Client talks to one API server.
type Client struct {
	cfg  *Config
	http *http.Client
}

// New makes a client whose every request times out after timeout.
func New(cfg *Config, timeout time.Duration) *Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: timeout,
		MaxIdleConns:        1,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Client{cfg: cfg, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// StatusError is an answer other than 2xx, with the API's Status message:
// for a 403 it says which user may not do which verb on which resource.
type StatusError struct {
	Method, URL string
	Code        int
	Reason      string // the Status reason: Forbidden, NotFound, …
	Message     string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Reason
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Code, http.StatusText(e.Code), msg)
}

// List GETs the collection at path (/api/v1/nodes, /apis/GROUP/VERSION/
// namespaces/NS/RESOURCE) and decodes the JSON list into out.
func (c *Client) List(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

// Get GETs one object at path and decodes it into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

// FieldManager names the agent's changes in an object's managedFields.
const FieldManager = "fleetc-agent"

// MergePatch sends a JSON merge patch (RFC 7386) to the object at path as
// field manager FieldManager and decodes the object it returns into out
// (nil: discarded).
func (c *Client) MergePatch(ctx context.Context, path string, patch []byte, out any) error {
	return c.do(ctx, http.MethodPatch, path+"?fieldManager="+FieldManager, "application/merge-patch+json", patch, out)
}

// Create POSTs the JSON object body to the collection at path as field
// manager FieldManager and decodes what the API server returns into out
// (nil: discarded). An object that exists is a *StatusError with Code 409.
func (c *Client) Create(ctx context.Context, path string, body []byte, out any) error {
	return c.do(ctx, http.MethodPost, path+"?fieldManager="+FieldManager, "application/json", body, out)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	url := c.cfg.Server + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "fleetc-agent")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	token := c.cfg.Token
	if c.cfg.TokenFile != "" {
		b, err := os.ReadFile(c.cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("%s %s: token (%s): %w", method, url, c.cfg.Source, err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s (%s): %w", method, url, c.cfg.Source, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, url, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("%s %s: response larger than %d MiB", method, url, maxBody>>20)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Method: method, URL: url, Code: resp.StatusCode}
		var st struct {
			Kind    string `json:"kind"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
			se.Reason, se.Message = st.Reason, st.Message
		} else {
			se.Message = strings.TrimSpace(string(data[:min(len(data), 512)]))
		}
		return se
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, url, err)
	}
	return nil
}
