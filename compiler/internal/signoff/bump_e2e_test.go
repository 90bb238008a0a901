package signoff_test

// The operating loop end to end against a real Gitea (skipped without it
// unless FLEETC_REQUIRE_GITEA is set): the deploy repo's main runs the
// sample fleet; an app team bumps pos in the monorepo; CI compiles with
// --signoff propose and runs `fleetc publish`; the pull request's body
// names the bump; the sign-off gate stays red until the ring's team
// (franchise-relations for pilot) approves the head, then goes green and auto-merges.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler/internal/cli"
	fdeploy "github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitea"
	"github.com/fleetc/fleetc/compiler/internal/rollout"
)

func TestVersionBumpToMerge(t *testing.T) {
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
	run := func(args ...string) (int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Run(ctx, args, &out, &errb)
		return code, out.String() + errb.String()
	}

	// main: what the stores run today (the sample fleet, every team signed
	// off, rolled out through every ring). The copy's rings bake for no
	// time, so each compile with the stores' feedback opens the next ring.
	mono := filepath.Join(t.TempDir(), "monorepo")
	copyMonorepo(t, root, mono)
	rings := filepath.Join(mono, "rings", "rings.cue")
	rb, err := os.ReadFile(rings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rings, regexp.MustCompile(`bakeTime: +"[^"]+"`).ReplaceAll(rb, []byte(`bakeTime: "0s"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy := filepath.Join(t.TempDir(), "deploy")
	now := "2026-11-24T09:00:00Z"
	walk := func(what string, compiles int, args ...string) {
		t.Helper()
		feedback := filepath.Join(t.TempDir(), "feedback.json")
		for i := 0; i < compiles; i++ { // one compile opens one ring
			cargs := append([]string{"-q", "--root", mono, "compile", "--out", deploy, "--now", now}, args...)
			if i > 0 {
				cargs = append(cargs, "--feedback", feedback)
			}
			if code, out := run(cargs...); code != 0 {
				t.Fatalf("%s compile: exit %d\n%s", what, code, out)
			}
			writeFeedback(t, deploy, feedback, now)
		}
	}
	walk("baseline", 4, "--approvals", filepath.Join(root, "docs", "examples", "approvals.json"), "--commit", forgetest.ExampleCommit)
	g.Git(t, deploy, "init", "-q")
	g.Git(t, deploy, "add", "-A")
	g.Git(t, deploy, "commit", "-q", "-m", "baseline")
	g.Push(t, deploy, "deploy", "main")

	// The app team's pull request: pos 5.12.0 → 5.12.1.
	pos := filepath.Join(mono, "apps", "pos.cue")
	b, err := os.ReadFile(pos)
	if err != nil {
		t.Fatal(err)
	}
	bumped := strings.Replace(string(b), `version: "5.12.0"`, `version: "5.12.1"`, 1)
	if bumped == string(b) {
		t.Fatal("apps/pos.cue has no version 5.12.0 to bump")
	}
	if err := os.WriteFile(pos, []byte(bumped), 0o644); err != nil {
		t.Fatal(err)
	}

	// CI on merge: compile proposing sign-offs, the rollout walking lab,
	// canary and pilot on the stores' feedback, publish. (Publish after the
	// compile that enters pilot: decisions.jsonl holds one compile's
	// decisions, and the sign-off gate reads it.)
	walk("bump", 3, "--signoff", "propose")
	code, out := run("-q", "publish", "--dir", deploy, "--repo", repoURL, "--provider", "gitea", "--insecure-http", "--clone-dir", filepath.Join(t.TempDir(), "clone"))
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s", code, out)
	}
	f, err := gitea.New(repoURL, g.Token(g.Admin), forgehttp.WithInsecureHTTP()) // Gitea on loopback
	if err != nil {
		t.Fatal(err)
	}
	mr, err := f.GetMR(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	pr, _, err := g.Client(t, g.Admin).GetPullRequest(g.Admin, "deploy", 1)
	if err != nil {
		t.Fatal(err)
	}
	// The chain ring pins pos to 5.11.3, so the bump reaches lab, canary
	// and pilot; entering pilot needs franchise-relations.
	if !strings.Contains(pr.Title, "pos 5.12.1 → lab…pilot (19 stores)") ||
		!strings.Contains(pr.Body, "| pos | pilot | upgraded 5.12.0 → 5.12.1 | 12 |") ||
		!strings.Contains(pr.Body, "franchise-relations") {
		t.Fatalf("pull request does not show the bump and its sign-off:\n%s\n%s", pr.Title, pr.Body)
	}

	signoffArgs := []string{"signoff", "--root", mono, "--provider", "gitea", "--insecure-http", "--repo", repoURL, "--mr", "1", "--auto-merge"}
	if code, out := run(signoffArgs...); code != 1 || !strings.Contains(out, "franchise-relations") {
		t.Fatalf("before approvals: exit %d, want 1 naming franchise-relations\n%s", code, out)
	}
	approve := func(user string) {
		t.Helper()
		if _, _, err := g.Client(t, user).CreatePullReview(g.Admin, "deploy", 1, sdk.CreatePullReviewOptions{State: sdk.ReviewStateApproved, Body: "ok", CommitID: mr.HeadSHA}); err != nil {
			t.Fatalf("approve as %s: %v", user, err)
		}
	}
	approve(outsider)
	if code, out := run(signoffArgs...); code != 1 {
		t.Fatalf("after an outsider's approval: exit %d, want 1\n%s", code, out)
	}
	approve(opsMember) // a member of another team: not enough
	if code, out := run(signoffArgs...); code != 1 {
		t.Fatalf("after ops' approval: exit %d, want 1\n%s", code, out)
	}
	approve(frMember)
	waitMergeable(t, g)
	if code, out := run(signoffArgs...); code != 0 {
		t.Fatalf("after the ring teams approved: exit %d, want 0 (merged)\n%s", code, out)
	}
	if info, err := f.GetMR(ctx, 1); err != nil || info.State != "merged" {
		t.Fatalf("after auto-merge: %+v, %v", info, err)
	}
}

// copyMonorepo copies the fleet's source (not its build outputs).
// writeFeedback stands in for the stores' agents: every store of the deploy
// tree's state reports every app it runs Ready.
func writeFeedback(t *testing.T, deploy, file, now string) {
	t.Helper()
	st, err := fdeploy.ReadState(deploy)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rollout.SnapshotFromState(st, at, at))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyMonorepo(t *testing.T, root, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"fleet.cue", "schemas", "inventory", "apps", "rings", "policies"} {
		err := filepath.WalkDir(filepath.Join(root, p), func(src string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, src)
			target := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			data, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
