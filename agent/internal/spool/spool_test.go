package spool

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/agent/internal/atomicfile"
)

func body(seq uint64, pad int) []byte {
	return fmt.Appendf(nil, `{"schema":"fleetc.dev/report/v1","store":"s","seq":%d,"pad":%q}`, seq, strings.Repeat("x", pad))
}

func open(t *testing.T, dir string, maxBytes int64, maxCount int) (*Spool, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s, err := Open(dir, Options{MaxBytes: maxBytes, MaxCount: maxCount, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, &logs
}

// add spools a report of about pad bytes and returns its seq.
func add(t *testing.T, s *Spool, pad int) uint64 {
	t.Helper()
	seq, err := s.NextSeq()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(Report{Seq: seq, Signature: "ed25519=sig" + fmt.Sprint(seq), Body: body(seq, pad)}); err != nil {
		t.Fatal(err)
	}
	return seq
}

func seqs(t *testing.T, s *Spool) []uint64 {
	t.Helper()
	var out []uint64
	for _, it := range s.items {
		out = append(out, it.seq)
	}
	return out
}

func TestPutOldestRemove(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, 1<<20, 100)
	for range 3 {
		add(t, s, 10)
	}
	r, ok, err := s.Oldest()
	if err != nil || !ok || r.Seq != 1 || r.Signature != "ed25519=sig1" || !bytes.Equal(r.Body, body(1, 10)) {
		t.Fatalf("Oldest = %+v %v %v, want report 1 as written", r, ok, err)
	}
	if err := s.Remove(1); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := s.Oldest(); r.Seq != 2 {
		t.Errorf("after Remove(1) Oldest is %d, want 2", r.Seq)
	}
	b, err := os.ReadFile(filepath.Join(dir, "spool", "00000000000000000002.report"))
	if err != nil || string(b) != "ed25519=sig2\n"+string(body(2, 10)) {
		t.Errorf("file 2: %q, %v", b, err)
	}
	if s.Len() != 2 || s.Bytes() != int64(len(b))*2 {
		t.Errorf("Len %d Bytes %d, want 2 and %d", s.Len(), s.Bytes(), 2*len(b))
	}
	// Reopen: same contents, next seq above everything.
	s2, _ := open(t, dir, 1<<20, 100)
	if got := seqs(t, s2); !slices.Equal(got, []uint64{2, 3}) {
		t.Errorf("reopened spool holds %v, want [2 3]", got)
	}
	if n := add(t, s2, 10); n != 4 {
		t.Errorf("next seq after reopen %d, want 4", n)
	}
	if err := s2.Put(Report{Seq: 3, Signature: "ed25519=x", Body: body(3, 1)}); err == nil {
		t.Error("Put of a seq not above the newest succeeded")
	}
	if err := s2.Put(Report{Seq: 99, Signature: "ed25519=x", Body: body(99, 1)}); err == nil {
		t.Error("Put of a seq NextSeq did not hand out succeeded")
	}
}

func TestSeqPersistedAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, 1<<20, 100)
	add(t, s, 1)
	for range 5 { // handed out, never spooled (a failed read, say)
		if _, err := s.NextSeq(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(1); err != nil {
		t.Fatal(err)
	}
	s2, _ := open(t, dir, 1<<20, 100)
	if s2.Len() != 0 {
		t.Fatalf("reopened spool holds %d reports, want 0", s2.Len())
	}
	if n, _ := s2.NextSeq(); n != 7 {
		t.Errorf("next seq %d, want 7: seq must not go back when the spool is empty", n)
	}
	// A spooled report above the persisted seq (cannot happen through the
	// API, but Open must not hand its seq out again).
	if err := atomicfile.Write(filepath.Join(dir, "spool", name(50)), append([]byte("ed25519=x\n"), body(50, 1)...), 0o600); err != nil {
		t.Fatal(err)
	}
	s3, _ := open(t, dir, 1<<20, 100)
	if n, _ := s3.NextSeq(); n != 51 {
		t.Errorf("next seq %d, want 51 (above the highest spooled)", n)
	}
}

func TestBoundsDropOldest(t *testing.T) {
	dir := t.TempDir()
	s, logs := open(t, dir, 1<<20, 3)
	for range 5 {
		add(t, s, 10)
	}
	if got := seqs(t, s); !slices.Equal(got, []uint64{3, 4, 5}) || s.Dropped() != 2 {
		t.Errorf("count bound: holds %v, dropped %d; want [3 4 5], 2", got, s.Dropped())
	}
	if !strings.Contains(logs.String(), "dropped the oldest") || !strings.Contains(logs.String(), "seq=1") {
		t.Errorf("drop not logged:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", name(2))); !os.IsNotExist(err) {
		t.Errorf("dropped report 2 still on disk: %v", err)
	}

	size := int64(len("ed25519=sig10\n") + len(body(10, 100)))
	s2, _ := open(t, t.TempDir(), 3*size, 100)
	for range 12 {
		add(t, s2, 100)
	}
	if got := seqs(t, s2); !slices.Equal(got, []uint64{10, 11, 12}) || s2.Bytes() > 3*size {
		t.Errorf("byte bound: holds %v (%d bytes, max %d); want [10 11 12]", got, s2.Bytes(), 3*size)
	}
	seq, _ := s2.NextSeq()
	if err := s2.Put(Report{Seq: seq, Signature: "ed25519=x", Body: body(seq, int(4*size))}); err == nil {
		t.Error("a report larger than the whole spool was accepted")
	}
	// Reopening with smaller bounds trims at once.
	s3, _ := open(t, dir, 1<<20, 1)
	if got := seqs(t, s3); !slices.Equal(got, []uint64{5}) {
		t.Errorf("reopened with max count 1: holds %v, want [5]", got)
	}
}

func TestOpenCleansUp(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, 1<<20, 100)
	add(t, s, 1)
	add(t, s, 1)
	sp := filepath.Join(dir, "spool")
	for n, content := range map[string]string{
		atomicfile.TempPrefix + name(3) + "-123": "ed25519=half",
		atomicfile.TempPrefix + "seq-9":          "4",
		name(7):                                  "no newline at all",
		name(8):                                  "ed25519=x\n{\"seq\":9}",
		name(9):                                  "ed25519=x\n{\"seq\":9,",
		"README":                                 "an operator's note",
	} {
		d := sp
		if strings.HasSuffix(n, "seq-9") {
			d = dir
		}
		if err := os.WriteFile(filepath.Join(d, n), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s2, logs := open(t, dir, 1<<20, 100)
	if s2.temps != 2 || s2.corrupt != 3 {
		t.Errorf("Open removed %d temporary and %d corrupt files, want 2 and 3", s2.temps, s2.corrupt)
	}
	if got := seqs(t, s2); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("holds %v, want [1 2]", got)
	}
	if !strings.Contains(logs.String(), name(8)) || !strings.Contains(logs.String(), "body has seq 9") {
		t.Errorf("corrupt file not logged by name and reason:\n%s", logs)
	}
	entries, _ := os.ReadDir(sp)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{name(1), name(2), "README"}; !slices.Equal(left, want) {
		t.Errorf("spool dir holds %v, want %v", left, want)
	}
	// A file removed behind the spool's back is skipped by Oldest.
	if err := os.Remove(filepath.Join(sp, name(1))); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := s2.Oldest(); err != nil || !ok || r.Seq != 2 {
		t.Errorf("Oldest = %d %v %v, want 2", r.Seq, ok, err)
	}
}
