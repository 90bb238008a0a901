package forgetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler/internal/testenv"
)

// GiteaVersion is the Gitea release scripts/gitea.sh builds.
const GiteaVersion = "v1.26.0"

// GiteaBinary is where scripts/gitea.sh puts the server: $FLEETC_GITEA, or
// ${XDG_CACHE_HOME:-$HOME/.cache}/fleetc-test/gitea-1.26.0/gitea.
func GiteaBinary() string {
	if p := os.Getenv("FLEETC_GITEA"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "fleetc-test", "gitea-"+strings.TrimPrefix(GiteaVersion, "v"), "gitea")
}

// Gitea is a running Gitea server owned by one test.
type Gitea struct {
	URL   string // http://127.0.0.1:port (no trailing slash)
	Admin string // the admin user's name
	dir   string
	bin   string
	conf  string
	users map[string]string // name → token
}

// StartGitea starts a Gitea server on a free loopback port in a temporary
// directory and stops it when the test ends. Without the binary the test is
// skipped, unless FLEETC_REQUIRE_GITEA is set: then it fails.
func StartGitea(t testing.TB) *Gitea {
	t.Helper()
	bin := GiteaBinary()
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		if os.Getenv("FLEETC_REQUIRE_GITEA") != "" {
			t.Fatalf("FLEETC_REQUIRE_GITEA is set but there is no Gitea binary at %s: run scripts/gitea.sh", bin)
		}
		testenv.Skip(t, "real-Gitea forge and sign-off tests", "scripts/gitea.sh (builds Gitea into the cache these tests look in)",
			fmt.Sprintf("no Gitea binary at %s: run scripts/gitea.sh to build it (set FLEETC_REQUIRE_GITEA=1 to make this a failure)", bin))
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("gitea needs git: %v", err)
	}
	static, err := staticRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	g := &Gitea{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Admin: "fleetbot", dir: dir, bin: bin, conf: filepath.Join(dir, "app.ini"), users: map[string]string{}}
	if err := os.WriteFile(g.conf, []byte(appINI(dir, static, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "web", "--config", g.conf, "--work-path", dir)
	cmd.Dir = dir
	cmd.Env = g.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start gitea: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := waitUp(g.URL, done, 90*time.Second); err != nil {
		t.Fatalf("gitea did not come up: %v\n%s", err, tail(out.String(), 4000))
	}
	g.CreateUser(t, g.Admin, true)
	return g
}

func staticRoot() (string, error) {
	if p := os.Getenv("FLEETC_GITEA_STATIC"); p != "" {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "code.gitea.io", "gitea@"+GiteaVersion)
	if _, err := os.Stat(filepath.Join(dir, "templates")); err != nil {
		return "", fmt.Errorf("gitea templates not in the module cache (%s): run scripts/gitea.sh", dir)
	}
	return dir, nil
}

func appINI(dir, static string, port int) string {
	var b strings.Builder
	if os.Geteuid() == 0 {
		b.WriteString("I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\n")
	}
	fmt.Fprintf(&b, `APP_NAME = fleetc-test
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = http://127.0.0.1:%[3]d/
DOMAIN = 127.0.0.1
STATIC_ROOT_PATH = %[2]s
APP_DATA_PATH = %[1]s/data
OFFLINE_MODE = true
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db

[repository]
ROOT = %[1]s/repos

[security]
INSTALL_LOCK = true
SECRET_KEY = %[4]s
INTERNAL_TOKEN = %[5]s
PASSWORD_COMPLEXITY = off
MIN_PASSWORD_LENGTH = 6

[service]
DISABLE_REGISTRATION = true

[oauth2]
ENABLED = false

[actions]
ENABLED = false

[cron]
ENABLED = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[log]
MODE = file
LEVEL = Warn
ROOT_PATH = %[1]s/log
`, dir, static, port, randHex(16), randHex(32))
	return b.String()
}

func (g *Gitea) env() []string {
	return append(os.Environ(), "HOME="+g.dir, "GITEA_WORK_DIR="+g.dir, "GIT_TERMINAL_PROMPT=0")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitUp(url string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("gitea exited")
		default:
		}
		resp, err := http.Get(url + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s within %s", url, limit)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// admin runs a gitea admin subcommand against the server's database.
func (g *Gitea) admin(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(g.bin, append([]string{"admin"}, append(args, "--config", g.conf, "--work-path", g.dir)...)...)
	cmd.Dir = g.dir
	cmd.Env = g.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gitea admin %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

// CreateUser makes a user with an access token of every scope and returns
// the token.
func (g *Gitea) CreateUser(t testing.TB, name string, admin bool) string {
	t.Helper()
	args := []string{"user", "create", "--username", name, "--password", "fleetc-" + name, "--email", name + "@example.com", "--must-change-password=false"}
	if admin {
		args = append(args, "--admin")
	}
	g.admin(t, args...)
	out := g.admin(t, "user", "generate-access-token", "--username", name, "--token-name", "fleetc-test", "--scopes", "all", "--raw")
	tok := strings.TrimSpace(out)
	if i := strings.LastIndexByte(tok, '\n'); i >= 0 {
		tok = strings.TrimSpace(tok[i+1:])
	}
	if len(tok) < 20 || strings.ContainsAny(tok, " \t") {
		t.Fatalf("gitea admin user generate-access-token: unexpected output %q", out)
	}
	g.users[name] = tok
	return tok
}

// Token is a user's access token.
func (g *Gitea) Token(user string) string { return g.users[user] }

// Client is an SDK client acting as user.
func (g *Gitea) Client(t testing.TB, user string) *sdk.Client {
	t.Helper()
	c, err := sdk.NewClient(g.URL, sdk.SetToken(g.users[user]), sdk.SetGiteaVersion(""))
	if err != nil {
		t.Fatalf("gitea client: %v", err)
	}
	return c
}

// CreateRepo makes an empty repository owned by the admin, adds
// collaborators with write access, and returns its URL.
func (g *Gitea) CreateRepo(t testing.TB, name string, collaborators ...string) string {
	t.Helper()
	c := g.Client(t, g.Admin)
	if _, _, err := c.CreateRepo(sdk.CreateRepoOption{Name: name, DefaultBranch: "main"}); err != nil {
		t.Fatalf("create repo: %v", err)
	}
	write := sdk.AccessModeWrite
	for _, u := range collaborators {
		if _, err := c.AddCollaborator(g.Admin, name, u, sdk.AddCollaboratorOption{Permission: &write}); err != nil {
			t.Fatalf("add collaborator %s: %v", u, err)
		}
	}
	return g.URL + "/" + g.Admin + "/" + name
}

// Git runs git in dir as the admin user: the token goes in an HTTP header,
// never in a URL, so git's own messages cannot show it.
func (g *Gitea) Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	full := append([]string{"-c", "http.extraHeader=Authorization: token " + g.users[g.Admin],
		"-c", "user.name=fleetc", "-c", "user.email=fleetc@example.com", "-c", "init.defaultBranch=main",
		"-c", "commit.gpgsign=false"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+g.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", args[0], err, strings.ReplaceAll(string(out), g.users[g.Admin], "[token]"))
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files into dir (a git work tree), commits them and returns
// the new commit's SHA.
func (g *Gitea) Commit(t testing.TB, dir, msg string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g.Git(t, dir, "add", "-A")
	g.Git(t, dir, "commit", "-q", "-m", msg)
	return g.Git(t, dir, "rev-parse", "HEAD")
}

// Push pushes HEAD of the work tree dir to branch of the admin's repo and
// waits until Gitea has processed the push (it does so in a background
// queue: until then an empty repository answers 404 to pull requests and
// a pull request keeps its old head).
func (g *Gitea) Push(t testing.TB, dir, repo, branch string) string {
	t.Helper()
	sha := g.Git(t, dir, "rev-parse", "HEAD")
	g.Git(t, dir, "push", "-q", g.URL+"/"+g.Admin+"/"+repo+".git", "+HEAD:refs/heads/"+branch)
	c := g.Client(t, g.Admin)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, _, err := c.GetRepo(g.Admin, repo)
		if err == nil && !r.Empty {
			b, _, err := c.GetRepoBranch(g.Admin, repo, branch)
			if err == nil && b.Commit != nil && b.Commit.ID == sha {
				return sha
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea did not take the push of %s to %s within 60s", sha, branch)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
