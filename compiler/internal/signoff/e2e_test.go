package signoff_test

// End to end against a real Gitea (scripts/gitea.sh builds it; skipped
// without it unless FLEETC_REQUIRE_GITEA is set): compile the sample fleet
// with --signoff propose, push it, open the pull request, and walk the
// sign-off gate through `fleetc signoff` until it auto-merges.

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler"
	"github.com/fleetc/fleetc/compiler/internal/cli"
	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitea"
	"github.com/fleetc/fleetc/compiler/internal/signoff"
)

// Members of the sample fleet's teams (rings/calendar.cue).
const (
	opsMember   = "dokafor"
	legalMember = "hweiss"
	frMember    = "tmorales" // franchise-relations
	outsider    = "eve"
)

func TestSignoffEndToEnd(t *testing.T) {
	g := forgetest.StartGitea(t)
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	users := []string{opsMember, legalMember, frMember, outsider}
	for _, u := range users {
		g.CreateUser(t, u, false)
	}
	repoURL := g.CreateRepo(t, "deploy", users...)
	t.Setenv("GITEA_TOKEN", g.Token(g.Admin))
	ctx := context.Background()

	// The deploy tree: main holds a README, the rollout branch the compile.
	work := filepath.Join(t.TempDir(), "deploy")
	res, err := compiler.Compile(ctx, compiler.Options{Root: root, Out: work, Now: time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC), ProposeSignoff: true})
	if err != nil || res.Failed() {
		t.Fatalf("compile: %v %v", err, res.Diagnostics)
	}
	g.Git(t, work, "init", "-q")
	g.Git(t, work, "commit", "-q", "--allow-empty", "-m", "empty deploy tree")
	g.Push(t, work, "deploy", "main")
	head1 := g.Commit(t, work, "fleetc: compile", nil)
	g.Push(t, work, "deploy", "fleetc/rollout")

	f, err := gitea.New(repoURL, g.Token(g.Admin), forgehttp.WithInsecureHTTP()) // Gitea on loopback
	if err != nil {
		t.Fatal(err)
	}
	mr, err := f.EnsureMR(ctx, forge.MR{Base: "main", Head: "fleetc/rollout", Title: "fleetc: rollout", Body: "compiled"})
	if err != nil || mr.HeadSHA != head1 {
		t.Fatalf("EnsureMR = %+v, %v (head %s)", mr, err, head1)
	}

	check := func(step string, autoMerge bool, wantCode int, wantMissing []string) *signoff.Result {
		t.Helper()
		args := []string{"signoff", "--root", root, "--provider", "gitea", "--insecure-http", "--repo", repoURL, "--mr", "1", "--format", "json"}
		if autoMerge {
			args = append(args, "--auto-merge")
		}
		var out, errb bytes.Buffer
		code := cli.Run(ctx, args, &out, &errb)
		var r signoff.Result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%s: exit %d, output not JSON: %v\n%s\n%s", step, code, err, out.String(), errb.String())
		}
		if code != wantCode || r.Verdict == nil || !reflect.DeepEqual(r.Verdict.Missing, wantMissing) {
			t.Fatalf("%s: exit %d (want %d), verdict %+v (want missing %q)\n%s", step, code, wantCode, r.Verdict, wantMissing, errb.String())
		}
		return &r
	}
	allTeams := []string{"franchise-relations", "legal", "ops"}

	r := check("nobody approved", false, 1, allTeams)
	if !reflect.DeepEqual(r.Verdict.Required, allTeams) || r.Requirements.ByVerdict["needs-signoff"] == 0 {
		t.Fatalf("required %q, requirements %+v", r.Verdict.Required, r.Requirements)
	}
	sts, err := f.Statuses(ctx, head1)
	if err != nil {
		t.Fatal(err)
	}
	if !hasStatus(sts, signoff.ContextSignoff, forge.Failure, "needs sign-off from franchise-relations, legal, ops") || !hasStatus(sts, signoff.ContextPolicy, forge.Success, "") {
		t.Fatalf("statuses on the head: %+v", sts)
	}

	approve := func(user, commit string) {
		t.Helper()
		if _, _, err := g.Client(t, user).CreatePullReview(g.Admin, "deploy", 1, sdk.CreatePullReviewOptions{State: sdk.ReviewStateApproved, Body: "ok", CommitID: commit}); err != nil {
			t.Fatalf("approve as %s: %v", user, err)
		}
	}
	approve(outsider, head1)
	r = check("an outsider approved", true, 1, allTeams)
	if r.Merged || r.NotMerged != "sign-off is not complete" {
		t.Fatalf("outsider: merged %v, %q", r.Merged, r.NotMerged)
	}

	for _, u := range []string{opsMember, legalMember, frMember} {
		approve(u, head1)
	}
	head2 := g.Commit(t, work, "fleetc: notes", map[string]string{"NOTES.md": "pushed after the approvals\n"})
	g.Push(t, work, "deploy", "fleetc/rollout")
	waitHead(t, f, head2)
	r = check("approved an older head", true, 1, allTeams)
	if len(r.Verdict.Ignored) != 4 || r.Verdict.Ignored[0].Reason != "approved an older commit "+head1[:10] {
		t.Fatalf("ignored %+v", r.Verdict.Ignored)
	}

	for _, u := range []string{opsMember, legalMember, frMember} {
		approve(u, head2)
	}
	waitMergeable(t, g)
	r = check("approved the head", true, 0, []string{})
	if !r.Merged || !reflect.DeepEqual(r.Verdict.Approved, map[string][]string{"franchise-relations": {frMember}, "legal": {legalMember}, "ops": {opsMember}}) {
		t.Fatalf("merged %v (%q), approved %+v", r.Merged, r.NotMerged, r.Verdict.Approved)
	}
	info, err := f.GetMR(ctx, 1)
	if err != nil || info.State != "merged" {
		t.Fatalf("after auto-merge: %+v, %v", info, err)
	}
}

func hasStatus(sts []forge.Status, ctx string, state forge.StatusState, desc string) bool {
	for _, s := range sts {
		if s.Context == ctx && s.State == state && (desc == "" || s.Description == desc) {
			return true
		}
	}
	return false
}

func waitHead(t *testing.T, f *gitea.Forge, sha string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if mr, err := f.GetMR(context.Background(), 1); err == nil && mr.HeadSHA == sha {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull request head did not move to %s", sha)
		}
	}
}

func waitMergeable(t *testing.T, g *forgetest.Gitea) {
	t.Helper()
	c := g.Client(t, g.Admin)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if pr, _, err := c.GetPullRequest(g.Admin, "deploy", 1); err == nil && pr.Mergeable {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pull request did not become mergeable")
		}
	}
}
