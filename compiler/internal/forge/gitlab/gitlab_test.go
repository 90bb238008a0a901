package gitlab

// These tests run against the in-process GitLab emulator in
// emulator_test.go: the real service can't run here.

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

func (e *emulator) forge(t *testing.T, token string) *Forge {
	t.Helper()
	f, err := New("https://gitlab.example.com/"+emuProject+".git", token, forgehttp.WithAPIURL(e.srv.URL+"/api/v4"), forgehttp.WithInsecureHTTP(),
		forgehttp.WithRetry(forgehttp.Retry{Sleep: func(context.Context, time.Duration) error { return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNew(t *testing.T) {
	tests := []struct{ name, url, api, project, err string }{
		{name: "gitlab.com", url: "https://gitlab.com/acme/deploy.git", api: "https://gitlab.com/api/v4/", project: "acme/deploy"},
		{name: "subgroups", url: "https://gitlab.example.com/retail/platform/deploy", api: "https://gitlab.example.com/api/v4/", project: "retail/platform/deploy"},
		{name: "web path", url: "https://gitlab.com/acme/deploy/-/merge_requests/4", api: "https://gitlab.com/api/v4/", project: "acme/deploy"},
		{name: "scp-like", url: "git@gitlab.com:acme/deploy.git", api: "https://gitlab.com/api/v4/", project: "acme/deploy"},
		{name: "no project", url: "https://gitlab.com/acme", err: "want owner/repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.url, "tok")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.client.BaseURL().String(); got != tt.api || f.project != tt.project {
				t.Fatalf("got %s %s, want %s %s", got, f.project, tt.api, tt.project)
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
	want := &forge.MRInfo{Number: 1, URL: "https://gitlab.example.com/retail/platform/deploy/-/merge_requests/1", HeadSHA: "c1", State: "open", Created: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("create: got %+v, want %+v", got, want)
	}
	mr.Body = "plan v2"
	if got, err = f.EnsureMR(ctx, mr); err != nil {
		t.Fatal(err)
	}
	want.Created = false
	if !reflect.DeepEqual(got, want) || len(e.mrs) != 1 || e.mrs[0].Description != "plan v2" {
		t.Fatalf("update: got %+v, %d MRs", got, len(e.mrs))
	}
	wantCalls := []string{
		"GET /api/v4/projects/retail%2Fplatform%2Fdeploy/merge_requests",
		"POST /api/v4/projects/retail%2Fplatform%2Fdeploy/merge_requests",
		"GET /api/v4/projects/retail%2Fplatform%2Fdeploy/merge_requests",
		"PUT /api/v4/projects/retail%2Fplatform%2Fdeploy/merge_requests/1",
	}
	if !reflect.DeepEqual(e.calls, wantCalls) {
		t.Fatalf("calls %q\nwant %q", e.calls, wantCalls)
	}
}

func TestEnsureMRConflictRace(t *testing.T) {
	e := newEmulator(t)
	e.mrs = []*emuMR{{IID: 1, Title: "old", Source: "fleetc/rollout", Target: "main", State: "opened"}}
	e.hideList = 1
	got, err := e.forge(t, emuToken).EnsureMR(context.Background(), forge.MR{Base: "main", Head: "fleetc/rollout", Title: "new"})
	if err != nil || got.Number != 1 || got.Created || len(e.mrs) != 1 || e.mrs[0].Title != "new" {
		t.Fatalf("got %+v, %v, %d MRs", got, err, len(e.mrs))
	}
}

func TestApprovalsStaleness(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		reset  *bool
		commit string
	}{
		{name: "reset on push: approvals are on the head", reset: &yes, commit: "c1"},
		{name: "no reset: commit unknown", reset: &no, commit: ""},
		{name: "setting unavailable: commit unknown", reset: nil, commit: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			e.resetOnPush = tt.reset
			e.mrs = []*emuMR{{IID: 1, Title: "t", Source: "fleetc/rollout", Target: "main", State: "opened", ApprovedBy: []string{"hweiss", "dokafor"}}}
			got, err := e.forge(t, emuToken).Approvals(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			want := []forge.Approval{{User: "dokafor", Commit: tt.commit, State: "approved"}, {User: "hweiss", Commit: tt.commit, State: "approved"}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestStatusesAcrossPages(t *testing.T) {
	e := newEmulator(t)
	f := e.forge(t, emuToken)
	ctx := context.Background()
	for _, st := range []forge.Status{
		{Context: "fleetc/signoff", State: forge.Failure, Description: "missing: ops"},
		{Context: "fleetc/policy", State: forge.Success, Description: "compiled"},
		{Context: "ci/lint", State: forge.Pending},
		{Context: "ci/lint", State: forge.Error},
		{Context: "fleetc/signoff", State: forge.Success, Description: "signed off"}, // page 3
	} {
		if err := f.SetStatus(ctx, "c1", st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.Statuses(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Status{
		{Context: "fleetc/signoff", State: forge.Success, Description: "signed off"},
		{Context: "fleetc/policy", State: forge.Success, Description: "compiled"},
		{Context: "ci/lint", State: forge.Failure},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if n := strings.Count(strings.Join(e.calls, "\n"), "/statuses\n") + 1; n != 3 {
		t.Fatalf("%d status pages fetched, want 3: %q", n, e.calls)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		mergeable bool
		sha       string
		status    int
		msg       string
	}{
		{name: "head moved", mergeable: true, sha: "c0", status: 409, msg: "SHA does not match HEAD of source branch: c1"},
		{name: "not mergeable", sha: "c1", status: 405, msg: "405 Method Not Allowed"},
		{name: "merged", mergeable: true, sha: "c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			m := &emuMR{IID: 1, Title: "t", Source: "fleetc/rollout", Target: "main", State: "opened", Mergeable: tt.mergeable}
			e.mrs = []*emuMR{m}
			err := e.forge(t, emuToken).Merge(context.Background(), 1, tt.sha)
			if tt.status == 0 {
				if err != nil || m.State != "merged" {
					t.Fatalf("err = %v, state %s", err, m.State)
				}
				return
			}
			var ae *forge.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Message != tt.msg || ae.Path != "/api/v4/projects/retail%2Fplatform%2Fdeploy/merge_requests/1/merge" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestReadFileAndErrors(t *testing.T) {
	e := newEmulator(t)
	e.files["c1:.fleetc/decisions.jsonl"] = "{}\n"
	ctx := context.Background()
	b, err := e.forge(t, emuToken).ReadFile(ctx, "c1", ".fleetc/decisions.jsonl")
	if err != nil || string(b) != "{}\n" {
		t.Fatalf("got %q, %v", b, err)
	}
	var ae *forge.APIError
	_, err = e.forge(t, "glpat-wrong").GetMR(ctx, 1)
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != "401 Unauthorized" {
		t.Fatalf("bad token: err = %#v", err)
	}
	if strings.Contains(err.Error(), "glpat-wrong") {
		t.Fatalf("token leaked: %v", err)
	}
	if _, err := e.forge(t, emuToken).GetMR(ctx, 9); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("unknown MR: err = %#v", err)
	}
	if err := e.forge(t, emuToken).SetStatus(ctx, "c1", forge.Status{Context: "x", State: "green"}); err != nil {
		t.Fatalf("unknown state posts pending: %v", err)
	}
}
