package feedback

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", pure Go

	"github.com/fleetc/fleetc/agent/report"
)

// ErrReplay is a report whose seq is not above the last one the store's
// key had accepted.
var ErrReplay = errors.New("replayed: seq is not above the last accepted report of this store")

// DBOptions tune Open.
type DBOptions struct {
	// History is how many state changes per store the reports table keeps
	// (a report whose apps and nodes equal the previous one only updates
	// the latest state). 0 means 100.
	History int
	// MaxBatch bounds how many reports one transaction commits. 0 means 512.
	MaxBatch int
}

// DB is the collector's store: SQLite (one writer, group commit) or
// PostgreSQL (several writers; several collector processes may share it).
type DB struct {
	kind    string // "sqlite" or "postgres"
	w, r    *sql.DB
	opts    DBOptions
	queue   chan *pending
	stop    chan struct{}
	writers sync.WaitGroup
	closing sync.Once
}

type pending struct {
	rep      *report.Report
	key      string
	body     []byte
	received time.Time
	done     chan error
}

// Open connects to dsn — "sqlite:PATH" or "postgres://…" — and applies the
// migrations the database lacks.
func Open(ctx context.Context, dsn string, opts DBOptions) (*DB, error) {
	if opts.History <= 0 {
		opts.History = 100
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	d := &DB{opts: opts, queue: make(chan *pending, 4*opts.MaxBatch), stop: make(chan struct{})}
	writers := 1
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("--db sqlite:PATH: the path is empty")
		}
		// WAL and synchronous=FULL: a commit is on disk when it returns,
		// also across a power loss. IMMEDIATE transactions take the write
		// lock at BEGIN, so a writer never fails half way with BUSY.
		u := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
		var err error
		if d.w, err = sql.Open("sqlite", u); err != nil {
			return nil, err
		}
		d.w.SetMaxOpenConns(1)
		if d.r, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&mode=ro"); err != nil {
			d.w.Close()
			return nil, err
		}
		d.r.SetMaxOpenConns(4)
		d.kind = "sqlite"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		w, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(8)
		d.w, d.r, d.kind, writers = w, w, "postgres", 4
	default:
		return nil, fmt.Errorf("--db %q: want sqlite:PATH or postgres://USER@HOST:PORT/DB", RedactDSN(dsn))
	}
	if err := d.w.PingContext(ctx); err != nil {
		d.closeDBs()
		return nil, fmt.Errorf("database %s: %w", RedactDSN(dsn), err)
	}
	if err := d.migrate(ctx); err != nil {
		d.closeDBs()
		return nil, fmt.Errorf("database %s: migrate: %w", RedactDSN(dsn), err)
	}
	for range writers {
		d.writers.Add(1)
		go d.writer()
	}
	return d, nil
}

// Kind is "sqlite" or "postgres".
func (d *DB) Kind() string { return d.kind }

// RedactDSN masks a password from a postgres URL.
func RedactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return dsn[:i+3] + rest[:c] + ":***" + rest[at:]
			}
		}
	}
	return dsn
}

// migrations are applied in order, each once; the schema_version table
// says how many a database has. Both databases take the same SQL.
var migrations = []string{
	// 1: the latest report per store, and its history of changes.
	`CREATE TABLE fleetc_stores (
		store       TEXT PRIMARY KEY,
		key         TEXT NOT NULL,
		last_seq    BIGINT NOT NULL,
		reported_at BIGINT NOT NULL,
		received_at BIGINT NOT NULL,
		state_hash  TEXT NOT NULL,
		report      TEXT NOT NULL
	);
	CREATE TABLE fleetc_reports (
		store       TEXT NOT NULL,
		key         TEXT NOT NULL,
		seq         BIGINT NOT NULL,
		reported_at BIGINT NOT NULL,
		received_at BIGINT NOT NULL,
		report      TEXT NOT NULL,
		PRIMARY KEY (store, key, seq)
	)`,
}

// SchemaVersion is the number of migrations this build knows.
var SchemaVersion = len(migrations)

func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.kind == "postgres" {
		// Replicas starting together migrate one at a time.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7336180)`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS fleetc_schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	err = tx.QueryRowContext(ctx, `SELECT version FROM fleetc_schema_version`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO fleetc_schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("the database is at schema version %d, this fleetc knows %d: run a newer fleetc", have, len(migrations))
	}
	for i := have; i < len(migrations); i++ {
		for _, stmt := range strings.Split(migrations[i], ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fleetc_schema_version SET version = $1`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

// Accept stores a verified report signed with key and returns once it is
// committed (nil), a replay (ErrReplay) or failed. body is the exact
// signed body.
func (d *DB) Accept(ctx context.Context, rep *report.Report, key string, body []byte) error {
	p := &pending{rep: rep, key: key, body: body, received: time.Now(), done: make(chan error, 1)}
	select {
	case d.queue <- p:
	case <-d.stop:
		return errors.New("the collector is shutting down")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the report is committed or not whatever the caller
	// does; wait for the answer so a 200 is never sent before it.
	return <-p.done
}

// writer commits what is waiting, up to MaxBatch per transaction.
func (d *DB) writer() {
	defer d.writers.Done()
	batch := make([]*pending, 0, d.opts.MaxBatch)
	for {
		select {
		case p := <-d.queue:
			batch = append(batch[:0], p)
		case <-d.stop:
			// Answer what is still queued: it was not committed.
			for {
				select {
				case p := <-d.queue:
					p.done <- errors.New("the collector is shutting down")
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < d.opts.MaxBatch {
			select {
			case p := <-d.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		results, err := d.commit(batch)
		for i, p := range batch {
			if err != nil {
				p.done <- err
			} else {
				p.done <- results[i]
			}
		}
	}
}

// commit writes batch in one transaction; results[i] is nil or ErrReplay.
func (d *DB) commit(batch []*pending) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	results := make([]error, len(batch))
	// Store order: two writers' transactions lock store rows in the same
	// order, so PostgreSQL never sees them deadlock; a store's own reports
	// keep their arrival order.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(batch[a].rep.Store, batch[b].rep.Store) })
	for _, i := range order {
		results[i], err = d.acceptTx(ctx, tx, batch[i])
		if err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

func (d *DB) acceptTx(ctx context.Context, tx *sql.Tx, p *pending) (error, error) {
	r := p.rep
	hash := stateHash(r)
	var prevKey, prevHash string
	var prevSeq int64
	err := tx.QueryRowContext(ctx, `SELECT key, last_seq, state_hash FROM fleetc_stores WHERE store = $1`, r.Store).Scan(&prevKey, &prevSeq, &prevHash)
	first := errors.Is(err, sql.ErrNoRows)
	if err != nil && !first {
		return nil, err
	}
	// The WHERE makes the check and the update one step, also between
	// collector processes sharing PostgreSQL: the row is locked by the
	// upsert, and a seq at or below the stored one changes nothing.
	res, err := tx.ExecContext(ctx, `INSERT INTO fleetc_stores (store, key, last_seq, reported_at, received_at, state_hash, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (store) DO UPDATE SET key = excluded.key, last_seq = excluded.last_seq,
			reported_at = excluded.reported_at, received_at = excluded.received_at,
			state_hash = excluded.state_hash, report = excluded.report
		WHERE fleetc_stores.last_seq < excluded.last_seq OR fleetc_stores.key <> excluded.key`,
		r.Store, p.key, int64(r.Seq), r.At.UnixMilli(), p.received.UnixMilli(), hash, string(p.body))
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 {
		return ErrReplay, nil
	}
	if !first && prevKey == p.key && prevHash == hash {
		return nil, nil // a heartbeat: nothing changed but the time
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO fleetc_reports (store, key, seq, reported_at, received_at, report)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store, key, seq) DO NOTHING`,
		r.Store, p.key, int64(r.Seq), r.At.UnixMilli(), p.received.UnixMilli(), string(p.body)); err != nil {
		return nil, err
	}
	// Keep the newest History rows in History's order (received_at, then
	// seq: reports committed in the same millisecond are told apart by
	// seq, so a bound on received_at alone would keep too many).
	_, err = tx.ExecContext(ctx, `DELETE FROM fleetc_reports WHERE store = $1 AND (received_at, seq) < (
		SELECT received_at, seq FROM fleetc_reports WHERE store = $1 ORDER BY received_at DESC, seq DESC LIMIT 1 OFFSET $2)`,
		r.Store, d.opts.History-1)
	return nil, err
}

// stateHash is what makes a report a change worth a history row: nodes and,
// per app, everything but the free-text message and times.
func stateHash(r *report.Report) string {
	h := sha256.New()
	fmt.Fprintf(h, "nodes %d/%d\n", r.Nodes.Ready, r.Nodes.Total)
	for _, id := range slices.Sorted(maps.Keys(r.Apps)) {
		a := r.Apps[id]
		health := ""
		if a.Health != nil {
			health = fmt.Sprint(a.Health.OK, a.Health.Status)
		}
		fmt.Fprintf(h, "%s %q %q %q %q %q %s\n", id, a.Version, a.Variant, a.Revision, a.Ready, a.Reason, health)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Latest is one store's latest accepted report.
type Latest struct {
	Store      string
	ReceivedAt time.Time
	Report     *report.Report
}

// Latest returns every store's latest report, in store order.
func (d *DB) Latest(ctx context.Context) ([]Latest, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT store, received_at, report FROM fleetc_stores ORDER BY store`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Latest
	for rows.Next() {
		var l Latest
		var recv int64
		var body string
		if err := rows.Scan(&l.Store, &recv, &body); err != nil {
			return nil, err
		}
		l.ReceivedAt = time.UnixMilli(recv).UTC()
		l.Report = new(report.Report)
		if err := json.Unmarshal([]byte(body), l.Report); err != nil {
			return nil, fmt.Errorf("store %s: stored report: %w", l.Store, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// History returns a store's kept reports, newest first.
func (d *DB) History(ctx context.Context, store string) ([]*report.Report, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT report FROM fleetc_reports WHERE store = $1 ORDER BY received_at DESC, seq DESC`, store)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*report.Report
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		r := new(report.Report)
		if err := json.Unmarshal([]byte(body), r); err != nil {
			return nil, fmt.Errorf("store %s: stored report: %w", store, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Ping checks the database answers (GET /healthz).
func (d *DB) Ping(ctx context.Context) error { return d.w.PingContext(ctx) }

// Close stops the writers (reports still queued are answered with an
// error, never acknowledged) and closes the database.
func (d *DB) Close() error {
	var err error
	d.closing.Do(func() {
		close(d.stop)
		d.writers.Wait()
		err = d.closeDBs()
	})
	return err
}

func (d *DB) closeDBs() error {
	err := d.w.Close()
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}
