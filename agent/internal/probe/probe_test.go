package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The apps are real HTTP servers on loopback: healthy, failing,
// redirecting (not followed: healthy), too slow, and one that is gone.
func TestAll(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.UserAgent(), "fleetc-agent") {
			http.Error(w, "bad probe", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("stack trace ", 1000), http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/fail", http.StatusFound)
	})
	release := make(chan struct{})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	p := New(300 * time.Millisecond)
	got := p.All(context.Background(), map[string]string{
		"pos": srv.URL + "/ok", "kds": srv.URL + "/fail", "menu": srv.URL + "/moved", "oil": srv.URL + "/slow", "music": gone,
	})
	for app, want := range map[string]struct {
		ok     bool
		status int
		msg    string
	}{
		"pos":   {true, 200, "200 OK in"},
		"kds":   {false, 503, "503 Service Unavailable"},
		"menu":  {true, 302, "302 Found"},
		"oil":   {false, 0, "deadline exceeded"},
		"music": {false, 0, "connection refused"},
	} {
		h, ok := got[app]
		if !ok {
			t.Errorf("%s: no result", app)
			continue
		}
		if h.OK != want.ok || h.Status != want.status || !strings.Contains(h.Message, want.msg) || h.At.IsZero() || len(h.Message) > maxMessage {
			t.Errorf("%s: %+v, want ok=%v status=%d message containing %q", app, h, want.ok, want.status, want.msg)
		}
	}
	if len(got) != 5 {
		t.Errorf("%d results, want 5: %v", len(got), got)
	}
}
