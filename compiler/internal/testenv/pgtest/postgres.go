// Package pgtest starts a real PostgreSQL server for tests.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// RequireEnv, when set, turns "no PostgreSQL here" into a failure
// (.ci/run sets it).
const RequireEnv = "FLEETC_REQUIRE_POSTGRES"

// Postgres is a real PostgreSQL server from the machine's packages
// (Debian's postgresql: /usr/lib/postgresql/<v>/bin), started on a free
// loopback port with its data in a temporary directory, trust auth for
// the user fleetc. As root it runs as the postgres user (the server
// refuses root).
type Postgres struct {
	Dir  string
	Port int
	cmd  *exec.Cmd
	n    int
}

// Bin finds initdb and postgres: $FLEETC_POSTGRES_BIN, else the
// newest /usr/lib/postgresql/*/bin.
func Bin() (string, error) {
	if d := os.Getenv("FLEETC_POSTGRES_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server: install Debian's postgresql package (apt-get install postgresql)")
}

// Start starts a server in a new directory under the system's temporary
// directory (world-traversable, so the postgres user reaches it when the
// test runs as root). Stop removes it.
func Start() (*Postgres, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fleetc-postgres-")
	if err != nil {
		return nil, err
	}
	asUser := func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := asUser("initdb", "-D", data, "-U", "fleetc", "--auth=trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &Postgres{Dir: dir, Port: port}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = asUser("postgres", "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		p.Stop()
		return nil, err
	}
	defer db.Close()
	for {
		if err = db.PingContext(ctx); err == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			p.Stop()
			return nil, fmt.Errorf("postgres did not start: %v\n%s", err, log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DSN is the URL of database db on the server.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://fleetc@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// NewDatabase creates an empty database and returns its DSN.
func (p *Postgres) NewDatabase(prefix string) (string, error) {
	p.n++
	name := fmt.Sprintf("%s_%d", strings.ToLower(prefix), p.n)
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	return p.DSN(name), nil
}

// Stop stops the server (fast shutdown) and waits for it.
func (p *Postgres) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	// runuser passes SIGINT (fast shutdown) on to the server.
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(p.Dir)
}
