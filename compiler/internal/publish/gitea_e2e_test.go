package publish

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
)

// The sample fleet published to a real Gitea (built by scripts/gitea.sh;
// skipped without it unless FLEETC_REQUIRE_GITEA is set) through the
// provider registry, exactly as `fleetc publish --provider gitea` does:
// the pull request carries the same title and body as a publish to the
// plain git server with a recording forge, and a rerun with nothing new
// pushes nothing and opens no second pull request.
func TestPublishToGitea(t *testing.T) {
	g := forgetest.StartGitea(t)
	repoURL := g.CreateRepo(t, "deploy")
	ctx := context.Background()

	// main: the sample tree; the rollout branch: the same fleet, changed.
	seedDir := sampleTree(t)
	seed := testOptions(t, seedDir, repoURL)
	seed.Provider, seed.Base, seed.Branch = "git", "seed", "main"
	seed.InsecureHTTP = true // Gitea on loopback
	seed.Getenv = func(k string) string {
		if k == "FLEETC_TOKEN" {
			return g.Token(g.Admin)
		}
		return ""
	}
	if _, err := Publish(ctx, seed); err != nil {
		t.Fatalf("seed main: %v", err)
	}
	// Gitea indexes a push into an empty repository in a background queue;
	// until then the repository answers 404 to pull request calls.
	waitBranch(t, g, "deploy", "main")

	dir := sampleTree(t)
	changeTree(t, dir)
	opts := testOptions(t, dir, repoURL)
	opts.Provider, opts.InsecureHTTP = "gitea", true
	opts.Getenv = func(k string) string {
		if k == "GITEA_TOKEN" {
			return g.Token(g.Admin)
		}
		return ""
	}
	res, err := Publish(ctx, opts)
	if err != nil {
		t.Fatalf("publish to gitea: %v", err)
	}
	if !res.Pushed || res.MR == nil || !res.MR.Created {
		t.Fatalf("result = %+v (mr %+v), want a push and a new pull request", res, res.MR)
	}
	pr, _, err := g.Client(t, g.Admin).GetPullRequest(g.Admin, "deploy", int64(res.MR.Number))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Title != res.Subject || pr.Body != res.Body || pr.Head.Ref != "fleetc/rollout" || pr.Base.Ref != "main" {
		t.Errorf("pull request = %q %q→%q, want %q fleetc/rollout→main with the report body", pr.Title, pr.Head.Ref, pr.Base.Ref, res.Subject)
	}
	if pr.Head.Sha != res.Commit {
		t.Errorf("pull request head = %s, want the published commit %s", pr.Head.Sha, res.Commit)
	}

	// The same tree published to the plain git server with a recording
	// forge gets the same title and body: the body depends on the change,
	// not on the forge.
	srv := startGitServer(t)
	plain := srv.newRepo(t, "deploy.git")
	pseed := testOptions(t, seedDir, plain)
	pseed.Base, pseed.Branch = "seed", "main"
	if _, err := Publish(ctx, pseed); err != nil {
		t.Fatal(err)
	}
	fake := &fakeForge{}
	popts := testOptions(t, dir, plain)
	popts.Provider, popts.Forge = "github", fake
	if _, err := Publish(ctx, popts); err != nil {
		t.Fatal(err)
	}
	if got := fake.bodies[1]; got.Body != pr.Body || got.Title != pr.Title {
		t.Errorf("the git-server publish sent another title or body than Gitea holds:\n%s\n---\n%s", got.Body, pr.Body)
	}

	// Rerun with nothing new: no commit, no second pull request.
	opts.CacheDir = filepath.Join(t.TempDir(), "cache2") // a fresh clone too
	again, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pushed || again.MR == nil || again.MR.Created || again.MR.Number != res.MR.Number {
		t.Errorf("rerun = %+v (mr %+v), want no push and the same pull request", again, again.MR)
	}
	prs, _, err := g.Client(t, g.Admin).ListRepoPullRequests(g.Admin, "deploy", sdk.ListPullRequestsOptions{State: sdk.StateOpen})
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 1 {
		t.Errorf("%d open pull requests, want 1", len(prs))
	}
}

func waitBranch(t *testing.T, g *forgetest.Gitea, repo, branch string) {
	t.Helper()
	c := g.Client(t, g.Admin)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, _, err := c.GetRepo(g.Admin, repo)
		if err == nil && !r.Empty {
			if _, _, err := c.GetRepoBranch(g.Admin, repo, branch); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea never showed %s/%s: %v", repo, branch, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
