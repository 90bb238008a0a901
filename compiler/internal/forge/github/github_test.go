package github

// These tests run against the in-process GitHub emulator in
// emulator_test.go: the real service can't run here.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

// apiURL points a forge at an emulator on loopback, over plain http (which
// the forge refuses for a token without WithInsecureHTTP).
func apiURL(u string) forgehttp.Option {
	return func(c *forgehttp.Config) {
		forgehttp.WithAPIURL(u + "/")(c)
		forgehttp.WithInsecureHTTP()(c)
	}
}

func noWait() forgehttp.Option {
	return forgehttp.WithRetry(forgehttp.Retry{Sleep: func(context.Context, time.Duration) error { return nil }})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, url, api, owner, repo, err string
	}{
		{name: "github.com", url: "https://github.com/acme/deploy", api: "https://api.github.com/", owner: "acme", repo: "deploy"},
		{name: "dot git and slash", url: "https://github.com/acme/deploy.git/", api: "https://api.github.com/", owner: "acme", repo: "deploy"},
		{name: "scp-like ssh", url: "git@github.com:acme/deploy.git", api: "https://api.github.com/", owner: "acme", repo: "deploy"},
		{name: "enterprise server", url: "https://ghe.example.com/retail/deploy", api: "https://ghe.example.com/api/v3/", owner: "retail", repo: "deploy"},
		{name: "token in url dropped", url: "https://x:ghp_leak@github.com/acme/deploy", api: "https://api.github.com/", owner: "acme", repo: "deploy"},
		{name: "no repo", url: "https://github.com/acme", err: "want owner/repo"},
		{name: "extra segments", url: "https://github.com/acme/deploy/tree", err: "want https://host/owner/repo"},
		{name: "bad scheme", url: "ftp://github.com/acme/deploy", err: "unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.url, "tok")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "ghp_leak") {
					t.Fatalf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.client.BaseURL(); got != tt.api || f.owner != tt.owner || f.repo != tt.repo {
				t.Fatalf("got %s %s/%s, want %s %s/%s", got, f.owner, f.repo, tt.api, tt.owner, tt.repo)
			}
		})
	}
}

func TestEnsureMRCreatesThenUpdates(t *testing.T) {
	e := newEmulator(t)
	f := e.forge(t, emuToken)
	ctx := context.Background()
	mr := forge.MR{Base: "main", Head: "fleetc/rollout", Title: "fleetc: rollout", Body: "plan v1"}

	got, err := f.EnsureMR(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	want := &forge.MRInfo{Number: 1, URL: "https://github.com/acme/deploy/pull/1", HeadSHA: "c1", State: "open", Created: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("create: got %+v, want %+v", got, want)
	}
	mr.Body = "plan v2"
	if got, err = f.EnsureMR(ctx, mr); err != nil {
		t.Fatal(err)
	}
	want.Created = false
	if !reflect.DeepEqual(got, want) || e.prs[0].Body != "plan v2" || len(e.prs) != 1 {
		t.Fatalf("update: got %+v (%d pulls, body %q)", got, len(e.prs), e.prs[0].Body)
	}
	e.calls = nil
	if _, err = f.EnsureMR(ctx, mr); err != nil {
		t.Fatal(err)
	}
	if want := []string{"GET /repos/acme/deploy/pulls"}; !reflect.DeepEqual(e.calls, want) {
		t.Fatalf("unchanged MR: calls %q, want %q", e.calls, want)
	}
}

func TestEnsureMRDuplicateRace(t *testing.T) {
	e := newEmulator(t)
	e.prs = []*emuPR{{Number: 1, Title: "old", Head: "fleetc/rollout", Base: "main", State: "open", Mergeable: true}}
	e.hideList = 1 // another publisher opened it between our list and create
	got, err := e.forge(t, emuToken).EnsureMR(context.Background(), forge.MR{Base: "main", Head: "fleetc/rollout", Title: "new", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != 1 || got.Created || len(e.prs) != 1 || e.prs[0].Title != "new" {
		t.Fatalf("got %+v, %d pulls, title %q", got, len(e.prs), e.prs[0].Title)
	}
	want := []string{"GET /repos/acme/deploy/pulls", "POST /repos/acme/deploy/pulls", "GET /repos/acme/deploy/pulls", "PATCH /repos/acme/deploy/pulls/1"}
	if !reflect.DeepEqual(e.calls, want) {
		t.Fatalf("calls %q, want %q", e.calls, want)
	}
}

func TestEnsureMRUnknownHead(t *testing.T) {
	e := newEmulator(t)
	_, err := e.forge(t, emuToken).EnsureMR(context.Background(), forge.MR{Base: "main", Head: "nope", Title: "t"})
	var ae *forge.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Method != "POST" || ae.Path != "/repos/acme/deploy/pulls" || ae.Message != "Validation Failed" {
		t.Fatalf("err = %#v", err)
	}
}

func TestApprovalsLatestPerUserAcrossPages(t *testing.T) {
	e := newEmulator(t)
	e.prs = []*emuPR{{Number: 1, Title: "t", Head: "fleetc/rollout", Base: "main", State: "open"}}
	at := func(m int) time.Time { return time.Date(2026, 11, 22, 9, m, 0, 0, time.UTC) }
	e.reviews[1] = []emuReview{
		{User: "dokafor", State: "APPROVED", Commit: "c0", At: at(1)},
		{User: "hweiss", State: "CHANGES_REQUESTED", Commit: "c0", At: at(2)},
		{User: "dokafor", State: "APPROVED", Commit: "c1", At: at(3)},
		{User: "dokafor", State: "COMMENTED", Commit: "c1", At: at(4)}, // a comment does not undo the approval
		{User: "hweiss", State: "APPROVED", Commit: "c1", At: at(5)},   // page 3
		{User: "outsider", State: "PENDING", Commit: "c1", At: at(6)},  // drafts are invisible
		{User: "tmorales", State: "COMMENTED", Commit: "c1", At: at(7)},
	}
	got, err := e.forge(t, emuToken).Approvals(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Approval{
		{User: "dokafor", Commit: "c1", State: "approved", At: at(3)},
		{User: "hweiss", Commit: "c1", State: "approved", At: at(5)},
		{User: "tmorales", Commit: "c1", State: "commented", At: at(7)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if n := strings.Count(strings.Join(e.calls, "\n"), "/reviews"); n != 4 {
		t.Fatalf("%d review pages fetched, want 4", n)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		pr        emuPR
		sha       string
		status    int
		msg       string
		wantMerge bool
	}{
		{name: "head moved", pr: emuPR{State: "open", Mergeable: true}, sha: "c0", status: 409, msg: "Head branch was modified. Review and try the merge again."},
		{name: "not mergeable", pr: emuPR{State: "open"}, sha: "c1", status: 405, msg: "Pull Request is not mergeable"},
		{name: "merged", pr: emuPR{State: "open", Mergeable: true}, sha: "c1", wantMerge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			pr := tt.pr
			pr.Number, pr.Head, pr.Base = 1, "fleetc/rollout", "main"
			e.prs = []*emuPR{&pr}
			f := e.forge(t, emuToken)
			err := f.Merge(context.Background(), 1, tt.sha)
			if tt.wantMerge {
				if err != nil || !pr.Merged {
					t.Fatalf("err = %v, merged %v", err, pr.Merged)
				}
				info, err := f.GetMR(context.Background(), 1)
				if err != nil || info.State != "merged" {
					t.Fatalf("GetMR = %+v, %v", info, err)
				}
				return
			}
			var ae *forge.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Message != tt.msg || ae.Method != "PUT" || ae.Path != "/repos/acme/deploy/pulls/1/merge" {
				t.Fatalf("err = %#v", err)
			}
			if pr.Merged {
				t.Fatal("merged anyway")
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	e := newEmulator(t)
	f := e.forge(t, emuToken)
	ctx := context.Background()
	long := strings.Repeat("é", 150)
	for _, st := range []forge.Status{
		{Context: "fleetc/signoff", State: forge.Failure, Description: "missing: ops"},
		{Context: "fleetc/policy", State: forge.Success, Description: long, TargetURL: "https://ci.example/1"},
		{Context: "fleetc/signoff", State: forge.Success, Description: "signed off"},
	} {
		if err := f.SetStatus(ctx, "c1", st); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.statuses["c1"][1].Description; len([]rune(got)) != 140 || !strings.HasSuffix(got, "é…") {
		t.Fatalf("description not cut to 140 runes: %d %q", len([]rune(got)), got)
	}
	got, err := f.Statuses(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Status{{Context: "fleetc/signoff", State: forge.Success, Description: "signed off"}, {Context: "fleetc/policy", State: forge.Success, Description: e.statuses["c1"][1].Description}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	var ae *forge.APIError
	if err := f.SetStatus(ctx, "c1", forge.Status{Context: "x", State: "green"}); !errors.As(err, &ae) || ae.Status != 422 {
		t.Fatalf("bad state: err = %v", err)
	}
}

func TestReadFile(t *testing.T) {
	e := newEmulator(t)
	e.files["c1:.fleetc/decisions.jsonl"] = "{\"store\":\"s1\"}\n"
	f := e.forge(t, emuToken)
	b, err := f.ReadFile(context.Background(), "c1", ".fleetc/decisions.jsonl")
	if err != nil || string(b) != "{\"store\":\"s1\"}\n" {
		t.Fatalf("got %q, %v", b, err)
	}
	var ae *forge.APIError
	if _, err := f.ReadFile(context.Background(), "c0", ".fleetc/decisions.jsonl"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestErrorsNeverCarryTheToken(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	bad := e.forge(t, "ghp_wrongTOKEN")
	_, err := bad.GetMR(ctx, 1)
	var ae *forge.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != "Bad credentials" {
		t.Fatalf("bad token: err = %#v", err)
	}
	if _, err := e.forge(t, emuToken).GetMR(ctx, 7); !errors.As(err, &ae) || ae.Status != 404 || ae.Path != "/repos/acme/deploy/pulls/7" {
		t.Fatalf("unknown number: err = %#v", err)
	}
	// A server that echoes the token back must not get it printed.
	msg := bad.scrub("token ghp_wrongTOKEN is not valid")
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), msg} {
		if strings.Contains(s, "ghp_wrongTOKEN") || strings.Contains(s, emuToken) {
			t.Fatalf("token leaked: %s", s)
		}
	}
}

func TestRetries(t *testing.T) {
	e := newEmulator(t)
	e.prs = []*emuPR{{Number: 1, Title: "t", Head: "fleetc/rollout", Base: "main", State: "open"}}
	var waits []time.Duration
	var logs []string
	f, err := New("https://github.com/acme/deploy", emuToken, apiURL(e.srv.URL),
		forgehttp.WithRetry(forgehttp.Retry{Attempts: 4, Base: time.Second, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}),
		forgehttp.WithLog(func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }))
	if err != nil {
		t.Fatal(err)
	}
	e.fail = []int{502, 429, 503}
	info, err := f.GetMR(context.Background(), 1)
	if err != nil || info.Number != 1 {
		t.Fatalf("got %+v, %v", info, err)
	}
	if want := []time.Duration{time.Second, 7 * time.Second, 4 * time.Second}; !reflect.DeepEqual(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	if len(logs) != 3 || !strings.Contains(logs[1], "GET /repos/acme/deploy/pulls/1: 429 Too Many Requests, retrying in 7s") {
		t.Fatalf("logs %q", logs)
	}
	for _, l := range logs {
		if strings.Contains(l, emuToken) {
			t.Fatalf("log leaks token: %s", l)
		}
	}
	// Out of attempts: the caller sees the last refusal.
	e.fail = []int{502, 502, 502, 502}
	var ae *forge.APIError
	if _, err := f.GetMR(context.Background(), 1); !errors.As(err, &ae) || ae.Status != 502 {
		t.Fatalf("err = %v", err)
	}
	// A POST is replayed with its body.
	e.fail = []int{500}
	if err := f.SetStatus(context.Background(), "c1", forge.Status{Context: "fleetc/policy", State: forge.Success}); err != nil {
		t.Fatal(err)
	}
	if got := e.statuses["c1"]; len(got) != 1 || got[0].Context != "fleetc/policy" {
		t.Fatalf("statuses %+v", got)
	}
}
