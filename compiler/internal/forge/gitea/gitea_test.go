package gitea

// These tests run a real Gitea (scripts/gitea.sh builds it). They skip
// when the binary is absent, and fail instead when FLEETC_REQUIRE_GITEA is
// set.

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
)

// waitPR polls the pull request until ok: Gitea updates a pull request's
// head and mergeability in a background queue after a push.
func waitPR(t *testing.T, g *forgetest.Gitea, index int64, what string, ok func(*sdk.PullRequest) bool) {
	t.Helper()
	c := g.Client(t, g.Admin)
	deadline := time.Now().Add(60 * time.Second)
	for {
		pr, _, err := c.GetPullRequest(g.Admin, "deploy", index)
		if err == nil && ok(pr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull request %d: %s did not happen within 60s (last: %+v, %v)", index, what, pr, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func review(t *testing.T, g *forgetest.Gitea, user string, index int64, state sdk.ReviewStateType, commit string) {
	t.Helper()
	_, _, err := g.Client(t, user).CreatePullReview(g.Admin, "deploy", index, sdk.CreatePullReviewOptions{State: state, Body: "review by " + user, CommitID: commit})
	if err != nil {
		t.Fatalf("review by %s: %v", user, err)
	}
}

func TestGitea(t *testing.T) {
	g := forgetest.StartGitea(t)
	for _, u := range []string{"dokafor", "eve"} {
		g.CreateUser(t, u, false)
	}
	repoURL := g.CreateRepo(t, "deploy", "dokafor", "eve")
	ctx := context.Background()

	work := t.TempDir()
	g.Git(t, work, "init", "-q")
	g.Commit(t, work, "initial", map[string]string{"README.md": "deploy tree\n"})
	g.Push(t, work, "deploy", "main")
	c1 := g.Commit(t, work, "rollout 1", map[string]string{".fleetc/decisions.jsonl": "{\"verdict\":\"needs-signoff\",\"teams\":[\"ops\"]}\n"})
	g.Push(t, work, "deploy", "fleetc/rollout")

	f, err := New(repoURL+".git", g.Token(g.Admin), forgehttp.WithInsecureHTTP()) // Gitea on loopback
	if err != nil {
		t.Fatal(err)
	}

	// EnsureMR creates, then updates the same pull request.
	mr := forge.MR{Base: "main", Head: "fleetc/rollout", Title: "fleetc: rollout", Body: "plan v1"}
	info, err := f.EnsureMR(ctx, mr)
	if err != nil {
		t.Fatal(err)
	}
	want := &forge.MRInfo{Number: 1, URL: repoURL + "/pulls/1", HeadSHA: c1, State: "open", Created: true}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("create: got %+v\nwant %+v", info, want)
	}
	mr.Body = "plan v2"
	if info, err = f.EnsureMR(ctx, mr); err != nil {
		t.Fatal(err)
	}
	want.Created = false
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("update: got %+v\nwant %+v", info, want)
	}
	prs, _, err := g.Client(t, g.Admin).ListRepoPullRequests(g.Admin, "deploy", sdk.ListPullRequestsOptions{State: sdk.StateAll})
	if err != nil || len(prs) != 1 || prs[0].Body != "plan v2" {
		t.Fatalf("pull requests after two EnsureMR: %d (%v), body %q", len(prs), err, prs[0].Body)
	}

	// What EnsureMR relies on when a create races another: Gitea refuses
	// a second open pull request for the same branches with 409.
	_, resp, err := g.Client(t, g.Admin).CreatePullRequest(g.Admin, "deploy", sdk.CreatePullRequestOption{Head: "fleetc/rollout", Base: "main", Title: "dup"})
	if err == nil || resp == nil || resp.StatusCode != 409 {
		t.Fatalf("duplicate create: %v (status %v)", err, resp)
	}

	// The decisions file reads back at the head.
	b, err := f.ReadFile(ctx, c1, ".fleetc/decisions.jsonl")
	if err != nil || string(b) != "{\"verdict\":\"needs-signoff\",\"teams\":[\"ops\"]}\n" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	var ae *forge.APIError
	if _, err := f.ReadFile(ctx, c1, "nope.txt"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("ReadFile missing: %v", err)
	}

	// Reviews: an approval on c1 by a team member and by an outsider, then
	// a new head; the outsider comments after approving.
	review(t, g, "dokafor", 1, sdk.ReviewStateApproved, c1)
	review(t, g, "eve", 1, sdk.ReviewStateApproved, c1)
	review(t, g, "eve", 1, sdk.ReviewStateComment, c1)
	c2 := g.Commit(t, work, "rollout 2", map[string]string{"NOTES.md": "second push\n"})
	g.Push(t, work, "deploy", "fleetc/rollout")
	waitPR(t, g, 1, "head moves to "+c2, func(pr *sdk.PullRequest) bool { return pr.Head != nil && pr.Head.Sha == c2 })

	got, err := f.Approvals(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	strip(got)
	wantA := []forge.Approval{{User: "dokafor", Commit: c1, State: "approved"}, {User: "eve", Commit: c1, State: "approved"}}
	if !reflect.DeepEqual(got, wantA) {
		t.Fatalf("approvals after the push: got %+v\nwant %+v", got, wantA)
	}
	review(t, g, "dokafor", 1, sdk.ReviewStateApproved, c2)
	if got, err = f.Approvals(ctx, 1); err != nil {
		t.Fatal(err)
	}
	strip(got)
	wantA[0].Commit = c2
	if !reflect.DeepEqual(got, wantA) {
		t.Fatalf("approvals after re-approval: got %+v\nwant %+v", got, wantA)
	}

	// Statuses: latest per context.
	for _, st := range []forge.Status{
		{Context: "fleetc/signoff", State: forge.Failure, Description: "needs sign-off from ops"},
		{Context: "fleetc/policy", State: forge.Success, Description: "compiled"},
		{Context: "fleetc/signoff", State: forge.Success, Description: "signed off: ops (dokafor)"},
	} {
		if err := f.SetStatus(ctx, c2, st); err != nil {
			t.Fatal(err)
		}
	}
	sts, err := f.Statuses(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	wantS := map[string]forge.Status{
		"fleetc/signoff": {Context: "fleetc/signoff", State: forge.Success, Description: "signed off: ops (dokafor)"},
		"fleetc/policy":  {Context: "fleetc/policy", State: forge.Success, Description: "compiled"},
	}
	if len(sts) != 2 || sts[0] != wantS[sts[0].Context] || sts[1] != wantS[sts[1].Context] {
		t.Fatalf("statuses %+v", sts)
	}

	// Merge: the old head is refused, the current one merges.
	waitPR(t, g, 1, "mergeable", func(pr *sdk.PullRequest) bool { return pr.Mergeable })
	err = f.Merge(ctx, 1, c1)
	if !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("merge of the old head: err = %v", err)
	}
	if err := f.Merge(ctx, 1, c2); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if info, err := f.GetMR(ctx, 1); err != nil || info.State != "merged" {
		t.Fatalf("after merge: %+v, %v", info, err)
	}

	// A wrong token: 401 as *forge.APIError, the token nowhere in it.
	bad, _ := New(repoURL, "0123456789abcdef0123456789abcdef01234567", forgehttp.WithInsecureHTTP())
	_, err = bad.GetMR(ctx, 1)
	if !errors.As(err, &ae) || ae.Status != 401 || strings.Contains(err.Error(), "0123456789abcdef") {
		t.Fatalf("bad token: err = %v", err)
	}
	if _, err := f.GetMR(ctx, 99); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("unknown pull request: err = %v", err)
	}
}

// strip drops review times (the server's clock) before comparing.
func strip(as []forge.Approval) {
	for i := range as {
		if as[i].At.IsZero() {
			panic("review without a time")
		}
		as[i].At = time.Time{}
	}
}
