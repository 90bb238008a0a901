package gitlab_test

// fleetc publish of the sample fleet against the GitLab API emulator (the
// real service cannot run here; emulator_test.go checks every request the
// way GitHub does): one merge request with the body every forge gets
// (forgetest's golden), and a rerun that pushes nothing and opens no
// second one.

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitlab"
	"github.com/fleetc/fleetc/compiler/internal/publish"
)

func TestPublishSampleToGitLab(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	repo, dir := forgetest.SampleRollout(t, root)
	f, prs := gitlab.NewTestEmulator(t)
	opts := publish.Options{
		Dir: dir, RepoURL: repo, Provider: "gitlab", Forge: f,
		CacheDir: filepath.Join(t.TempDir(), "clone"), Date: forgetest.SampleNow,
		Getenv: func(string) string { return "" },
	}
	res, err := publish.Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.MR == nil || !res.MR.Created || res.MR.Number != 1 {
		t.Fatalf("result = %+v (mr %+v), want a push and merge request !1", res, res.MR)
	}
	got := prs()
	if len(got) != 1 || got[0].Title != res.Subject || got[0].Description != res.Body || got[0].Source != "fleetc/rollout" || got[0].Target != "main" {
		t.Fatalf("emulator holds %+v, want one merge request fleetc/rollout → main titled %q", got, res.Subject)
	}
	forgetest.CheckSampleBody(t, got[0].Description)

	again, err := publish.Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pushed || again.MR == nil || again.MR.Created || again.MR.Number != 1 || len(prs()) != 1 {
		t.Errorf("rerun = %+v (mr %+v), %d pull requests; want no push, the same one", again, again.MR, len(prs()))
	}
}
