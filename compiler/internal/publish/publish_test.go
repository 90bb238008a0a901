package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

// changeTree edits one store's first file, as a new compile would, and
// returns its slash path.
func changeTree(t *testing.T, dir string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "clusters", "us-il-chicago-0102", "*.yaml"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no store file to change in %s (%v)", dir, err)
	}
	name := matches[0]
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, append(b, "# changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, name)
	return filepath.ToSlash(rel)
}

func TestPublishEmptyRepoThenChangeThenNothingNew(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	dir := sampleTree(t)
	opts := testOptions(t, dir, repo)
	ctx := context.Background()

	// 1. First publish into an empty repository: a root commit on the branch.
	first, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Pushed || first.Parent != "" || first.Attempts != 1 || first.Branch != "fleetc/rollout" {
		t.Fatalf("first publish = %+v, want pushed root commit on fleetc/rollout in 1 attempt", first)
	}
	if got := remoteHead(t, repo, "fleetc/rollout"); got != first.Commit {
		t.Fatalf("remote branch at %s, want %s", got, first.Commit)
	}
	if !strings.Contains(first.Skipped, "provider git: pushed only") {
		t.Errorf("skipped = %q, want the MR step named as skipped", first.Skipped)
	}
	msg := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "log", "-1", "--format=%an <%ae>|%ct|%s", first.Commit)
	if want := "fleetc <fleetc@localhost>|1795510800|" + first.Subject; msg != want {
		t.Errorf("commit = %q, want %q", msg, want)
	}

	// 2. A change: exactly one commit on top of the first.
	changed := changeTree(t, dir)
	second, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Pushed || second.Parent != first.Commit || second.Commit == first.Commit {
		t.Fatalf("second publish = %+v, want a commit on %s", second, first.Commit)
	}
	log := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "rev-list", "fleetc/rollout")
	if want := second.Commit + "\n" + first.Commit; log != want {
		t.Fatalf("branch history:\n%s\nwant:\n%s", log, want)
	}
	files := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "diff", "--name-only", first.Commit, second.Commit)
	if files != changed {
		t.Errorf("second commit changes %q, want only the edited file", files)
	}

	// 3. Rerun with nothing new: no commit, no push.
	third, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if third.Pushed || third.Commit != second.Commit || third.Attempts != 0 || !strings.HasPrefix(third.Skipped, "nothing new") {
		t.Fatalf("rerun = %+v, want nothing pushed, branch at %s", third, second.Commit)
	}
	if got := remoteHead(t, repo, "fleetc/rollout"); got != second.Commit {
		t.Fatalf("remote branch moved to %s on a rerun", got)
	}

	// A rerun from a fresh cache fetches everything and still sees nothing new.
	opts.CacheDir = filepath.Join(t.TempDir(), "other-cache")
	fourth, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fourth.Pushed || fourth.Commit != second.Commit {
		t.Fatalf("rerun from a fresh cache = %+v", fourth)
	}
}

// Same tree, same parent, same date: the same commit id, so a rerun of a
// whole pipeline is reproducible.
func TestPublishCommitIDIsReproducible(t *testing.T) {
	srv := startGitServer(t)
	dir := sampleTree(t)
	a, err := Publish(context.Background(), testOptions(t, dir, srv.newRepo(t, "a.git")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Publish(context.Background(), testOptions(t, dir, srv.newRepo(t, "b.git")))
	if err != nil {
		t.Fatal(err)
	}
	if a.Commit != b.Commit || a.Tree != b.Tree {
		t.Fatalf("commits %s (tree %s) and %s (tree %s) differ", a.Commit, a.Tree, b.Commit, b.Tree)
	}
}

// Two CI runs race: B prepares its commit, A pushes first, B's push is
// rejected; B refetches, commits the same tree on top of A's commit and
// succeeds. Both commits are in the history.
func TestPublishRace(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	ctx := context.Background()
	seed, err := Publish(ctx, testOptions(t, sampleTree(t), repo))
	if err != nil {
		t.Fatal(err)
	}

	dirA, dirB := sampleTree(t), sampleTree(t)
	changeTree(t, dirA)
	if err := os.WriteFile(filepath.Join(dirB, "releases", "extra.txt"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	optsA, optsB := testOptions(t, dirA, repo), testOptions(t, dirB, repo)
	var resA *Result
	var pushes []int
	optsB.beforePush = func(attempt int) {
		pushes = append(pushes, attempt)
		if attempt == 1 {
			if resA, err = Publish(ctx, optsA); err != nil {
				t.Errorf("publisher A: %v", err)
			}
		}
	}
	var progress []string
	optsB.Progress = func(stage string, _ time.Duration, detail string) { progress = append(progress, stage+": "+detail) }
	resB, err := Publish(ctx, optsB)
	if err != nil {
		t.Fatal(err)
	}
	if resA == nil || !resA.Pushed || resA.Parent != seed.Commit {
		t.Fatalf("A = %+v, want a commit on the seed %s", resA, seed.Commit)
	}
	if !resB.Pushed || resB.Attempts != 2 || resB.Parent != resA.Commit || len(pushes) != 2 {
		t.Fatalf("B = %+v after pushes %v, want attempt 2 on A's commit %s", resB, pushes, resA.Commit)
	}
	log := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "rev-list", "fleetc/rollout")
	if want := strings.Join([]string{resB.Commit, resA.Commit, seed.Commit}, "\n"); log != want {
		t.Fatalf("history:\n%s\nwant B, A, seed:\n%s", log, want)
	}
	// B's commit is B's full tree: A's edit is not merged into it.
	if got := gitRun(t, "", "--git-dir", filepath.Join(srv.s.Root, "deploy.git"), "rev-parse", resB.Commit+"^{tree}"); got != resB.Tree {
		t.Errorf("B's commit has tree %s, want its own %s", got, resB.Tree)
	}
	if !containsLine(progress, "push: fleetc/rollout moved on the remote") {
		t.Errorf("progress does not report the rejected push:\n%s", strings.Join(progress, "\n"))
	}
}

func containsLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// A push that keeps being rejected gives up after Attempts and never
// forces.
func TestPublishGivesUpAfterAttempts(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	ctx := context.Background()
	if _, err := Publish(ctx, testOptions(t, sampleTree(t), repo)); err != nil {
		t.Fatal(err)
	}
	dir := sampleTree(t)
	changeTree(t, dir)
	opts := testOptions(t, dir, repo)
	opts.Attempts = 2
	n := 0
	opts.beforePush = func(int) {
		// Someone else pushes a new commit right before every push.
		n++
		other := sampleTree(t)
		os.WriteFile(filepath.Join(other, "releases", "other.txt"), []byte{byte('0' + n)}, 0o644)
		if _, err := Publish(ctx, testOptions(t, other, repo)); err != nil {
			t.Errorf("other publisher: %v", err)
		}
	}
	_, err := Publish(ctx, opts)
	if !errors.Is(err, errRejected) || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Fatalf("err = %v, want rejected after 2 attempts", err)
	}
}

// A branch whose last rollout was merged starts again from base.
func TestPublishAfterMerge(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	ctx := context.Background()
	first, err := Publish(ctx, testOptions(t, sampleTree(t), repo))
	if err != nil {
		t.Fatal(err)
	}
	// Merge: main moves to the branch head plus a merge-like commit of its own.
	bare := filepath.Join(srv.s.Root, "deploy.git")
	tree := gitRun(t, "", "--git-dir", bare, "rev-parse", first.Commit+"^{tree}")
	merge := gitRunEnv(t, []string{"GIT_AUTHOR_NAME=m", "GIT_AUTHOR_EMAIL=m@x", "GIT_COMMITTER_NAME=m", "GIT_COMMITTER_EMAIL=m@x"},
		"--git-dir", bare, "commit-tree", tree, "-p", first.Commit, "-m", "Merge fleetc/rollout")
	gitRun(t, "", "--git-dir", bare, "update-ref", "refs/heads/main", merge)

	// The same tree again: main already has it, nothing to propose.
	same, err := Publish(ctx, testOptions(t, sampleTree(t), repo))
	if err != nil {
		t.Fatal(err)
	}
	if same.Pushed || same.Commit != "" || !strings.HasPrefix(same.Skipped, "nothing to propose: main already has this tree") {
		t.Fatalf("same tree after merge = %+v", same)
	}
	dir := sampleTree(t)
	changeTree(t, dir)
	next, err := Publish(ctx, testOptions(t, dir, repo))
	if err != nil {
		t.Fatal(err)
	}
	if !next.Pushed || next.Parent != merge {
		t.Fatalf("after merge = %+v, want a commit on main's %s", next, merge)
	}
}

func gitRunEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := execGit(args...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// fakeForge is an in-memory forge: one MR per head branch.
type fakeForge struct {
	mrs    map[string]*forge.MRInfo
	bodies map[int]forge.MR
	calls  int
	err    error
}

func (f *fakeForge) Name() string { return "fake" }

func (f *fakeForge) EnsureMR(_ context.Context, mr forge.MR) (*forge.MRInfo, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if f.mrs == nil {
		f.mrs, f.bodies = map[string]*forge.MRInfo{}, map[int]forge.MR{}
	}
	info := f.mrs[mr.Head]
	created := info == nil
	if created {
		info = &forge.MRInfo{Number: len(f.mrs) + 1, URL: "https://forge.test/mr/" + mr.Head, State: "open"}
		f.mrs[mr.Head] = info
	}
	f.bodies[info.Number] = mr
	out := *info
	out.Created = created
	return &out, nil
}

func (f *fakeForge) GetMR(context.Context, int) (*forge.MRInfo, error) {
	return nil, errors.New("not used")
}
func (f *fakeForge) Approvals(context.Context, int) ([]forge.Approval, error) { return nil, nil }
func (f *fakeForge) SetStatus(context.Context, string, forge.Status) error    { return nil }
func (f *fakeForge) Merge(context.Context, int, string) error                 { return nil }

func TestPublishOpensAndRefreshesMR(t *testing.T) {
	srv := startGitServer(t)
	repo := srv.newRepo(t, "deploy.git")
	ctx := context.Background()
	// Seed main with the sample tree (published as if main were the branch).
	seed := testOptions(t, sampleTree(t), repo)
	seed.Base, seed.Branch = "seed", "main"
	if _, err := Publish(ctx, seed); err != nil {
		t.Fatal(err)
	}

	dir := sampleTree(t)
	changeTree(t, dir)
	fake := &fakeForge{}
	opts := testOptions(t, dir, repo)
	opts.Provider, opts.Forge = "github", fake
	res, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.MR == nil || res.MR.Number != 1 || !res.MR.Created || res.MR.URL != "https://forge.test/mr/fleetc/rollout" || res.Skipped != "" {
		t.Fatalf("result = %+v (mr %+v), want MR #1 opened", res, res.MR)
	}
	mr := fake.bodies[1]
	if mr.Base != "main" || mr.Head != "fleetc/rollout" || mr.Title != res.Subject || mr.Body != res.Body {
		t.Fatalf("EnsureMR got %+v", mr)
	}
	// Against main's state nothing but one store file changed: no store runs
	// anything else (the first rollout holds 230 pairs beyond the lab ring).
	if want := "fleetc: no store changes, 4 denied, 240 deferred"; res.Subject != want {
		t.Errorf("subject = %q, want %q", res.Subject, want)
	}
	if !strings.HasSuffix(mr.Body, BodyMarker+"\n") {
		t.Errorf("body does not end with the marker:\n%s", mr.Body)
	}

	// Rerun: nothing new, the MR is refreshed, not opened again.
	again, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pushed || again.MR == nil || again.MR.Created || again.MR.Number != 1 || fake.calls != 2 || len(fake.mrs) != 1 {
		t.Fatalf("rerun = %+v (mr %+v), %d calls", again, again.MR, fake.calls)
	}
}

func TestPublishErrorsDoNotLeakToken(t *testing.T) {
	const token = "tok-5ecr3t-value"
	env := func(k string) string {
		if k == "FLEETC_TOKEN" {
			return token
		}
		return ""
	}
	srv := startGitServer(t)
	ctx := context.Background()

	t.Run("forge refusal", func(t *testing.T) {
		repo := srv.newRepo(t, "forge.git")
		seed := testOptions(t, sampleTree(t), repo)
		seed.Base, seed.Branch = "seed", "main"
		if _, err := Publish(ctx, seed); err != nil {
			t.Fatal(err)
		}
		dir := sampleTree(t)
		changeTree(t, dir)
		opts := testOptions(t, dir, repo)
		apiErr := &forge.APIError{Forge: "fake", Method: "POST", Path: "/pulls", Status: 401, Message: "bad credentials " + token}
		opts.Provider, opts.Getenv, opts.Forge = "github", env, &fakeForge{err: apiErr}
		opts.InsecureHTTP = true // a loopback server
		_, err := Publish(ctx, opts)
		var got *forge.APIError
		if err == nil || !errors.As(err, &got) || got.Status != 401 {
			t.Fatalf("err = %v, want the forge's APIError", err)
		}
		if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[redacted]") {
			t.Fatalf("error leaks or does not redact the token: %v", err)
		}
	})
	t.Run("git refusal", func(t *testing.T) {
		opts := testOptions(t, sampleTree(t), srv.s.URL+"/missing.git")
		opts.Getenv, opts.InsecureHTTP = env, true
		_, err := Publish(ctx, opts)
		if err == nil || strings.Contains(err.Error(), token) {
			t.Fatalf("err = %v, want an error without the token", err)
		}
	})
	t.Run("provider without constructor or token", func(t *testing.T) {
		saved := newForge["gitea"]
		newForge["gitea"] = func(repoURL, tok string, _ ...forgehttp.Option) (forge.Forge, error) {
			return nil, errors.New("cannot parse owner from " + repoURL + " with " + tok)
		}
		t.Cleanup(func() {
			if saved == nil {
				delete(newForge, "gitea")
			} else {
				newForge["gitea"] = saved
			}
		})
		_, err := forgeFor("gitea", "https://gitea.test/x", env)
		if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "with [redacted]") {
			t.Fatalf("err = %v", err)
		}
		_, err = forgeFor("gitea", "https://gitea.test/x", noEnv)
		if !errors.Is(err, errNoToken) || !strings.Contains(err.Error(), "set FLEETC_TOKEN or GITEA_TOKEN") {
			t.Fatalf("err = %v, want no token naming the variables", err)
		}
	})
}

func TestPublishRefusesNonDeployTree(t *testing.T) {
	opts := testOptions(t, t.TempDir(), "https://example.test/deploy.git")
	_, err := Publish(context.Background(), opts)
	if !errors.Is(err, ErrNotDeployTree) {
		t.Fatalf("err = %v, want ErrNotDeployTree", err)
	}
}
