package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// gitCLI runs the git command line against one bare cache repository. The
// CLI does the bulk work (hashing the tree, fetch, push); go-git reads
// refs and objects (see objects.go).
type gitCLI struct {
	gitDir  string        // the bare cache repository
	url     string        // the deploy repository, never with a password (remote.url)
	host    string        // its host, for messages
	env     []string      // extra environment: the auth header
	secrets []string      // redacted from every error
	stall   time.Duration // an HTTP transfer that receives nothing this long fails
}

// waitDelay bounds how long a killed git's children (git-remote-http
// holds the pipes) may keep run waiting.
const waitDelay = 2 * time.Second

// errRejected is a push the remote refused because the branch moved (stale
// lease, not a fast-forward): refetch and retry.
var errRejected = errors.New("push rejected: the branch moved")

// run executes git with args; stdin may be nil. It returns stdout; on
// failure the error holds git's stderr, with the secret redacted.
func (g *gitCLI) run(ctx context.Context, dir string, extraEnv []string, stdin []byte, args ...string) ([]byte, []byte, error) {
	base := []string{
		"--git-dir=" + g.gitDir,
		"-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c", "core.excludesFile=",
		"-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.fsmonitor=false",
	}
	if g.stall > 0 {
		base = append(base, stallArgs(g.stall)...)
	}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = gitEnv(g.env, extraEnv)
	cmd.WaitDelay = waitDelay
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		sub := subcommand(args)
		if cause := context.Cause(ctx); cause != nil {
			return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("git %s: %w", sub, cause)
		}
		msg := gitMessage(stderr.Bytes())
		if msg == "" {
			msg = err.Error()
		}
		if stalled(msg) {
			return stdout.Bytes(), stderr.Bytes(), &TimeoutError{What: "git " + sub, Host: g.host, Limit: g.stall, Flag: "--stall-timeout", Stall: true}
		}
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("git %s: %s", sub, redact(msg, g.secrets...))
	}
	return stdout.Bytes(), stderr.Bytes(), nil
}

// gitMessage is git's stderr without progress meters: the lines that say
// what went wrong.
func gitMessage(stderr []byte) string {
	var keep []string
	for _, line := range strings.FieldsFunc(string(stderr), func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" || progressLine.MatchString(line) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "; ")
}

var progressLine = regexp.MustCompile(`^(remote: )?(Enumerating|Counting|Compressing|Writing|Receiving|Resolving|Total|Delta compression|Unpacking|Finding sources)\b`)

// subcommand is the first argument that is not a "-c name=value" option.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		if args[i] == "-c" {
			i++
			continue
		}
		return args[i]
	}
	return ""
}

// maintain lets git pack the cache's loose objects when there are many
// (gc --auto: over 6,700 loose objects); git runs it in the background.
func (g *gitCLI) maintain(ctx context.Context) {
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+g.gitDir, "gc", "--auto", "--quiet")
	cmd.Env = gitEnv()
	cmd.WaitDelay = waitDelay
	_ = cmd.Run() // best effort: a cache that is not packed is only bigger
}

// openCache makes sure dir is a bare repository and returns a runner for it.
func openCache(ctx context.Context, dir string, r remote, stall time.Duration) (*gitCLI, error) {
	g := &gitCLI{gitDir: dir, url: r.url, host: r.host, env: r.env, secrets: r.secrets, stall: stall}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return g, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "init", "--bare", "-q", dir)
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cache: git init: %s", strings.TrimSpace(string(out)))
	}
	return g, nil
}

// DefaultCacheDir is where the bare clone of repoURL lives unless told
// otherwise: <user cache dir>/fleetc/repos/<hash of URL>.
func DefaultCacheDir(repoURL string) (string, error) {
	root, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	return CloneDir(filepath.Join(root, "fleetc"), repoURL), nil
}

// CloneDir is where the bare clone of repoURL lives under fleetc's cache
// root (fleetc --cache-dir): <root>/repos/<hash of URL>.
func CloneDir(cacheRoot, repoURL string) string {
	return filepath.Join(cacheRoot, "repos", cacheKey(repoURL))
}

// cacheKey names a repository's cache by its URL without credentials.
func cacheKey(repoURL string) string {
	sum := sha256.Sum256([]byte(stripUserinfo(repoURL)))
	return hex.EncodeToString(sum[:8]) + ".git"
}

func stripUserinfo(repoURL string) string {
	if u, err := url.Parse(repoURL); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return repoURL
}

// redact replaces every non-empty secret in s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// remoteHeads asks the remote for the given branches: name → sha, absent
// branches are missing from the map.
func (g *gitCLI) remoteHeads(ctx context.Context, branches ...string) (map[string]string, error) {
	args := []string{"ls-remote", "--heads", g.url}
	for _, b := range branches {
		args = append(args, "refs/heads/"+b)
	}
	out, _, err := g.run(ctx, "", nil, nil, args...)
	if err != nil {
		return nil, err
	}
	heads := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			heads[name] = sha
		}
	}
	return heads, nil
}

// localRef is where the cache keeps the last fetched head of a branch. The
// refs stay between runs so the next fetch negotiates from them and
// downloads only what is new.
func localRef(branch string) string { return "refs/fleetc/remote/" + branch }

// transfer is what git reported moving: objects and bytes.
type transfer struct {
	Objects int
	Bytes   string // as git prints it, e.g. "12.40 MiB"
}

var progressRE = regexp.MustCompile(`(?:Receiving|Writing) objects: 100% \((\d+)/\d+\), ([0-9.]+ (?:bytes|KiB|MiB|GiB))`)

// parseTransfer reads the last "Writing/Receiving objects: 100%" meter
// (git repeats the final one with ", done").
func parseTransfer(stderr []byte) transfer {
	var t transfer
	for _, m := range progressRE.FindAllSubmatch(stderr, -1) {
		t.Objects, _ = strconv.Atoi(string(m[1]))
		t.Bytes = string(m[2])
	}
	return t
}

// fetch brings the given branches (name → sha from remoteHeads) into the
// cache and drops the local refs of branches the remote no longer has.
func (g *gitCLI) fetch(ctx context.Context, heads map[string]string, all ...string) (transfer, error) {
	args := []string{"fetch", "--no-tags", "--no-write-fetch-head", "--progress", g.url}
	want := 0
	for _, b := range all {
		if heads[b] == "" {
			if _, _, err := g.run(ctx, "", nil, nil, "update-ref", "-d", localRef(b)); err != nil {
				return transfer{}, err
			}
			continue
		}
		args = append(args, "+refs/heads/"+b+":"+localRef(b))
		want++
	}
	if want == 0 {
		return transfer{}, nil
	}
	_, stderr, err := g.run(ctx, "", nil, nil, args...)
	if err != nil {
		return transfer{}, err
	}
	return parseTransfer(stderr), nil
}

// writeTree hashes the deploy directory into the cache's object store and
// returns the tree id. The index lives in the cache, one per directory, so
// a rerun over the same directory rehashes only files whose stat changed.
// When DIR is a checkout of the deploy repository (the usual way to give
// compile its previous state), its own index seeds ours: files the compile
// left alone are not hashed again. Everything fleetc rendered is added
// (ignore files do not apply); deploy's bookkeeping (the index, the journal:
// deploy.BookkeepingPaths) is left out, and git skips DIR/.git.
func (g *gitCLI) writeTree(ctx context.Context, dir string) (tree string, seeded bool, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, fmt.Errorf("tree: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	index := filepath.Join(g.gitDir, "fleetc-index-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(index); errors.Is(err, fs.ErrNotExist) {
		seeded = copyFile(filepath.Join(abs, ".git", "index"), index) == nil
	}
	tree, err = g.addAndWriteTree(ctx, abs, index)
	if err != nil && seeded {
		// The checkout's index names blobs the cache does not have (a
		// checkout of a commit never fetched here): hash everything.
		os.Remove(index)
		seeded = false
		tree, err = g.addAndWriteTree(ctx, abs, index)
	}
	return tree, seeded, err
}

func (g *gitCLI) addAndWriteTree(ctx context.Context, abs, index string) (string, error) {
	env := []string{"GIT_INDEX_FILE=" + index, "GIT_WORK_TREE=" + abs}
	// Loose objects uncompressed: the push compresses them into the pack
	// anyway, so compressing here too would double the work.
	add := []string{"-c", "core.looseCompression=0", "add", "--all", "--force", "--", "."}
	drop := []string{"rm", "-r", "--cached", "--force", "--quiet", "--ignore-unmatch", "--"}
	for _, p := range deploy.BookkeepingPaths() {
		add = append(add, ":(exclude,literal)"+p)
		drop = append(drop, p)
	}
	if _, _, err := g.run(ctx, abs, env, nil, add...); err != nil {
		return "", err
	}
	// An index seeded from a checkout (or kept from an older fleetc) may
	// still list bookkeeping an older publish committed: drop it.
	if _, _, err := g.run(ctx, abs, env, nil, drop...); err != nil {
		return "", err
	}
	out, _, err := g.run(ctx, abs, env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// copyFile copies a regular file; an error when src is missing.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// Signature is a commit's author and committer.
type Signature struct {
	Name  string
	Email string
}

// DefaultSignature is who commits unless told otherwise.
var DefaultSignature = Signature{Name: "fleetc", Email: "fleetc@localhost"}

// ParseSignature reads "Name <email>".
func ParseSignature(s string) (Signature, error) {
	s = strings.TrimSpace(s)
	i, j := strings.LastIndexByte(s, '<'), strings.LastIndexByte(s, '>')
	if i <= 0 || j != len(s)-1 || j < i {
		return Signature{}, fmt.Errorf("author %q: want \"Name <email>\"", s)
	}
	sig := Signature{Name: strings.TrimSpace(s[:i]), Email: s[i+1 : j]}
	if sig.Name == "" || sig.Email == "" || strings.ContainsAny(s[:i]+sig.Email, "<>\n") {
		return Signature{}, fmt.Errorf("author %q: want \"Name <email>\"", s)
	}
	return sig, nil
}

// commitTree writes a commit of tree on parent ("" for a root commit). The
// same tree, parent, message, identity and date give the same commit id.
func (g *gitCLI) commitTree(ctx context.Context, tree, parent, message string, sig Signature, date time.Time) (string, error) {
	d := fmt.Sprintf("%d +0000", date.Unix())
	env := []string{
		"GIT_AUTHOR_NAME=" + sig.Name, "GIT_AUTHOR_EMAIL=" + sig.Email, "GIT_AUTHOR_DATE=" + d,
		"GIT_COMMITTER_NAME=" + sig.Name, "GIT_COMMITTER_EMAIL=" + sig.Email, "GIT_COMMITTER_DATE=" + d,
	}
	args := []string{"commit-tree", "--no-gpg-sign", tree, "-F", "-"}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	out, _, err := g.run(ctx, "", env, []byte(message), args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// push updates refs/heads/branch to commit only if the remote still has it
// at expected ("" = must not exist). A refusal because the branch moved is
// errRejected; anything else (hooks, protection, network) is an error.
func (g *gitCLI) push(ctx context.Context, commit, branch, expected string) (transfer, error) {
	ref := "refs/heads/" + branch
	// Files over 64 MiB (the decisions.jsonl of a first compile as fleetc
	// wrote it before grouping it, still in older deploy repos) are
	// sent without a delta search, which would index the whole previous
	// version; zlib level 1 compresses the pack about 3× faster than the
	// default for a somewhat bigger transfer.
	out, stderr, err := g.run(ctx, "", nil, nil, "-c", "core.bigFileThreshold=64m", "-c", "pack.compression=1",
		"push", "--porcelain", "--progress",
		"--force-with-lease="+ref+":"+expected, g.url, commit+":"+ref)
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "!") {
			continue
		}
		if strings.Contains(line, "[rejected]") {
			return transfer{}, fmt.Errorf("%w: %s", errRejected, strings.TrimSpace(redact(line, g.secrets...)))
		}
		return transfer{}, fmt.Errorf("push %s: %s", branch, strings.TrimSpace(redact(line[1:], g.secrets...)))
	}
	if err != nil {
		return transfer{}, err
	}
	return parseTransfer(stderr), nil
}

// isAncestor reports whether a is an ancestor of (or equal to) b.
func (g *gitCLI) isAncestor(ctx context.Context, a, b string) (bool, error) {
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+g.gitDir, "merge-base", "--is-ancestor", a, b)
	cmd.Env = gitEnv()
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, fmt.Errorf("git merge-base: %w", err)
}
