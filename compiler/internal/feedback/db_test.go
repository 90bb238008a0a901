package feedback

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/report"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func mustOpen(t *testing.T, dsn string, opts DBOptions) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func accept(t *testing.T, db *DB, r *report.Report) error {
	t.Helper()
	return db.Accept(context.Background(), r, pubText(r.Store), body(t, r))
}

// TestStoreContract is the contract both databases keep: the latest report
// per store, replays refused, history only on change and bounded, a new
// key resets the sequence, and all of it survives a reopen.
func TestStoreContract(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn, DBOptions{History: 3})
		if err := accept(t, db, mkReport("s-0001", 5, t0, "1.0.0", "r1")); err != nil {
			t.Fatal(err)
		}
		for _, seq := range []uint64{5, 4, 1} {
			if err := accept(t, db, mkReport("s-0001", seq, t0.Add(time.Minute), "1.0.0", "r1")); !errors.Is(err, ErrReplay) {
				t.Errorf("seq %d after 5: %v, want ErrReplay", seq, err)
			}
		}
		// Heartbeats: seq grows, state does not change: no history row.
		for seq := uint64(6); seq <= 9; seq++ {
			if err := accept(t, db, mkReport("s-0001", seq, t0.Add(time.Duration(seq)*time.Minute), "1.0.0", "r1")); err != nil {
				t.Fatal(err)
			}
		}
		if h, err := db.History(ctx, "s-0001"); err != nil || len(h) != 1 || h[0].Seq != 5 {
			t.Fatalf("history after heartbeats = %v (%v), want the first report only", seqs(h), err)
		}
		// Changes: each a history row, bounded to 3, newest first.
		for seq := uint64(10); seq <= 14; seq++ {
			if err := accept(t, db, mkReport("s-0001", seq, t0.Add(time.Duration(seq)*time.Minute), "1.1.0", fmt.Sprint("r", seq))); err != nil {
				t.Fatal(err)
			}
		}
		h, err := db.History(ctx, "s-0001")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(seqs(h)); got != "[14 13 12]" {
			t.Errorf("history = %s, want [14 13 12]", got)
		}
		// A store's new key (the agent's state was lost and its new public
		// key merged) starts its sequence again.
		r := mkReport("s-0001", 1, t0.Add(time.Hour), "1.1.0", "r15")
		if err := db.Accept(ctx, r, "ed25519:another", body(t, r)); err != nil {
			t.Fatalf("seq 1 under a new key: %v", err)
		}
		if err := accept(t, db, mkReport("s-0002", 1, t0, "1.0.0", "r1")); err != nil {
			t.Fatal(err)
		}
		db.Close()

		db = mustOpen(t, dsn, DBOptions{History: 3})
		latest, err := db.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range latest {
			got = append(got, fmt.Sprintf("%s:%d:%s", l.Store, l.Report.Seq, l.Report.Apps["pos"].Revision))
		}
		if strings.Join(got, " ") != "s-0001:1:r15 s-0002:1:r1" {
			t.Errorf("latest after reopen = %v", got)
		}
	})
}

func seqs(h []*report.Report) []uint64 {
	var out []uint64
	for _, r := range h {
		out = append(out, r.Seq)
	}
	return out
}

// TestConcurrentAccepts: many stores at once, each in order, through group
// commit: every one acknowledged is there, and a report racing its own
// replay is committed once.
func TestConcurrentAccepts(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		db := mustOpen(t, dsn, DBOptions{MaxBatch: 16})
		const stores, per = 40, 25
		var wg sync.WaitGroup
		var mu sync.Mutex
		replays := map[string]int{}
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("s-%04d", i+1)
				for seq := uint64(1); seq <= per; seq++ {
					r := mkReport(id, seq, t0, "1.0.0", fmt.Sprint("r", seq))
					// The same report twice at once: one is a replay.
					errs := make(chan error, 2)
					for range 2 {
						go func() { errs <- db.Accept(context.Background(), r, pubText(id), body(t, r)) }()
					}
					for range 2 {
						switch err := <-errs; {
						case errors.Is(err, ErrReplay):
							mu.Lock()
							replays[id]++
							mu.Unlock()
						case err != nil:
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		latest, err := db.Latest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != stores {
			t.Fatalf("%d stores stored, want %d", len(latest), stores)
		}
		for _, l := range latest {
			if l.Report.Seq != per || replays[l.Store] != per {
				t.Errorf("%s: last seq %d, %d replays; want %d and %d", l.Store, l.Report.Seq, replays[l.Store], per, per)
			}
		}
	})
}

// TestMigrations: opening twice applies nothing twice; a database from a
// newer fleetc is refused with what to do.
func TestMigrations(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		db := mustOpen(t, dsn, DBOptions{})
		db.Close()
		db = mustOpen(t, dsn, DBOptions{})
		if _, err := db.w.Exec(`UPDATE fleetc_schema_version SET version = $1`, SchemaVersion+1); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(context.Background(), dsn, DBOptions{})
		if err == nil || !strings.Contains(err.Error(), "run a newer fleetc") {
			t.Fatalf("open a newer database: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://x":                          "want sqlite:PATH or postgres://",
		"sqlite:":                            "the path is empty",
		"postgres://u:secret@127.0.0.1:1/db": "u:***@127.0.0.1:1",
	} {
		_, err := Open(context.Background(), dsn, DBOptions{})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) = %v, want it to say %q (and never the password)", dsn, err, want)
		}
	}
}
