package forgehttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A request that carries a token is refused over plain http:// before it
// is sent, unless WithInsecureHTTP; one without a credential goes through.
func TestTransportRefusesCredentialsOverPlainHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	get := func(c Config, header, value string) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/user", nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := c.Client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for _, h := range []string{"Authorization", "Private-Token"} {
		err := get(Apply(nil), h, "tok-over-http")
		if !errors.Is(err, ErrInsecureHTTP) || !strings.Contains(err.Error(), "--insecure-http") || strings.Contains(err.Error(), "tok-over-http") {
			t.Errorf("%s over http: err = %v, want ErrInsecureHTTP naming --insecure-http, without the token", h, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests with a token over plain http, want none", n)
	}
	if err := get(Apply(nil), "", ""); err != nil {
		t.Errorf("no credential: %v", err)
	}
	if err := get(Apply([]Option{WithInsecureHTTP()}), "Authorization", "token x"); err != nil {
		t.Errorf("with WithInsecureHTTP: %v", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("server hits = %d, want 2", n)
	}
}

// Every client Apply builds has a timeout, whatever client it was given;
// against a server that accepts and never answers a request fails within
// it.
func TestApplyAlwaysSetsATimeout(t *testing.T) {
	for name, opts := range map[string][]Option{
		"default":              nil,
		"client without limit": {WithHTTPClient(&http.Client{})},
	} {
		if c := Apply(opts); c.Client.Timeout != DefaultTimeout {
			t.Errorf("%s: timeout = %s, want %s", name, c.Client.Timeout, DefaultTimeout)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	c := Apply([]Option{WithTimeout(300 * time.Millisecond), WithRetry(Retry{Attempts: 1})})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/api", nil)
	start := time.Now()
	_, err = c.Client.Do(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("err = %v, want a timeout naming %s", err, ln.Addr())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("request took %s, want about 300ms", took)
	}
}
