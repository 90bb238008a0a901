package gitea_test

// fleetc publish of the sample fleet to a real Gitea (scripts/gitea.sh
// builds it; skipped without it unless FLEETC_REQUIRE_GITEA is set),
// through publish's provider registry as `fleetc publish --provider gitea`
// does: one pull request with the body every forge gets (forgetest's
// golden, shared with the GitHub and GitLab emulator tests).

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/publish"
)

func TestPublishSampleToGitea(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	g := forgetest.StartGitea(t)
	repoURL := g.CreateRepo(t, "deploy")
	repo, dir := forgetest.SampleRollout(t, root)
	g.Git(t, repo, "push", "-q", repoURL+".git", "main")
	c := g.Client(t, g.Admin)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if r, _, err := c.GetRepo(g.Admin, "deploy"); err == nil && !r.Empty {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gitea never indexed the push of main")
		}
	}
	opts := publish.Options{
		Dir: dir, RepoURL: repoURL, Provider: "gitea", InsecureHTTP: true, // Gitea on loopback
		CacheDir: filepath.Join(t.TempDir(), "clone"), Date: forgetest.SampleNow,
		Getenv: func(k string) string {
			if k == "GITEA_TOKEN" {
				return g.Token(g.Admin)
			}
			return ""
		},
	}
	res, err := publish.Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.MR == nil || !res.MR.Created {
		t.Fatalf("result = %+v (mr %+v), want a push and a new pull request", res, res.MR)
	}
	pr, _, err := c.GetPullRequest(g.Admin, "deploy", int64(res.MR.Number))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Title != res.Subject || pr.Head.Ref != "fleetc/rollout" || pr.Base.Ref != "main" {
		t.Errorf("pull request %q %s → %s, want %q fleetc/rollout → main", pr.Title, pr.Head.Ref, pr.Base.Ref, res.Subject)
	}
	forgetest.CheckSampleBody(t, pr.Body)
}
