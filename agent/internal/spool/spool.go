// Package spool keeps the reports that wait to be delivered, on disk, so
// that neither a restart nor kill -9 nor a power loss loses or corrupts one.
//
// Layout in the state directory:
//
//	seq                                 the last seq handed out, in decimal
//	spool/00000000000000000042.report   one report: the Fleetc-Signature
//	                                    header value, "\n", the exact body
//
// Every file is written by atomicfile: temporary file in the same
// directory, write, fsync, rename, fsync the directory. A file is therefore
// whole or absent; Open still checks each one, removes what does not parse
// (logged) and the temporary files a crash left behind.
//
// Seq is persisted before a report using it is spooled, so seqs grow
// strictly across restarts (gaps are allowed): after Open the next seq is
// one above the larger of the persisted seq and the highest spooled one.
//
// The spool is bounded by total bytes and by count; when a new report
// does not fit, the oldest are dropped first (logged, counted). Remove does
// not fsync: a removed report that comes back after a power loss is only
// sent again, and the collector answers 409.
//
// A Spool is not safe for concurrent use; one process uses a state
// directory at a time.
package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fleetc/fleetc/agent/internal/atomicfile"
)

const suffix = ".report"

// Options bound the spool.
type Options struct {
	MaxBytes int64 // total size of the spooled files
	MaxCount int
	Log      *slog.Logger // nil: discard
	// SeqStart, when there is no seq file yet (a new or wiped state
	// directory), is the seq the first report gets; 0 means 1. The
	// collector refuses a seq not above the store's last, so the agent
	// starts a new directory at the current time in Unix microseconds,
	// above every seq an earlier directory of the store handed out (one
	// per report).
	SeqStart uint64
}

// Report is one spooled report.
type Report struct {
	Seq       uint64
	Signature string // the Fleetc-Signature header value
	Body      []byte
}

// Spool is an open spool.
type Spool struct {
	dir, seqPath string
	opt          Options
	items        []item // ascending seq
	bytes        int64
	last         uint64 // the highest seq handed out or spooled
	dropped      int
	// What Open cleaned up.
	temps, corrupt int
}

type item struct {
	seq  uint64
	size int64
}

// Open opens the spool in stateDir, creating stateDir/spool when absent.
func Open(stateDir string, opt Options) (*Spool, error) {
	if opt.MaxBytes <= 0 || opt.MaxCount <= 0 {
		return nil, fmt.Errorf("spool: max bytes (%d) and max count (%d) must be positive", opt.MaxBytes, opt.MaxCount)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{dir: filepath.Join(stateDir, "spool"), seqPath: filepath.Join(stateDir, "seq"), opt: opt}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, d := range []struct{ dir, base string }{{stateDir, "seq"}, {s.dir, ""}} {
		removed, err := atomicfile.RemoveTemps(d.dir, d.base)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		for _, name := range removed {
			opt.Log.Info("removed an unfinished write", "file", filepath.Join(d.dir, name))
		}
		s.temps += len(removed)
	}
	switch b, err := os.ReadFile(s.seqPath); {
	case errors.Is(err, fs.ErrNotExist):
		s.last = max(opt.SeqStart, 1) - 1
	case err != nil:
		return nil, fmt.Errorf("spool: %w", err)
	default:
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("spool: seq file %s: %q is not a number; it is written atomically, so something else wrote it", s.seqPath, bytes.TrimSpace(b))
		}
		s.last = n
	}
	entries, err := os.ReadDir(s.dir) // sorted by name, so by seq: names are zero-padded
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		seq, ok := parseName(name)
		if !ok {
			opt.Log.Warn("spool: ignoring a file that is not a report", "file", filepath.Join(s.dir, name))
			continue
		}
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		if _, err := parse(seq, b); err != nil {
			opt.Log.Error("spool: removing a report that does not parse", "file", path, "err", err)
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			s.corrupt++
			continue
		}
		s.items = append(s.items, item{seq, int64(len(b))})
		s.bytes += int64(len(b))
		s.last = max(s.last, seq)
	}
	if err := s.trim(); err != nil {
		return nil, err
	}
	return s, nil
}

func name(seq uint64) string { return fmt.Sprintf("%020d%s", seq, suffix) }

func parseName(n string) (uint64, bool) {
	digits, ok := strings.CutSuffix(n, suffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil && seq > 0
}

// parse reads a spooled file: the signature line, then a JSON body whose
// seq is the file's.
func parse(seq uint64, b []byte) (Report, error) {
	sig, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return Report{}, errors.New("no signature line")
	}
	if !bytes.HasPrefix(sig, []byte("ed25519=")) {
		return Report{}, errors.New("first line is not a signature")
	}
	var head struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Report{}, fmt.Errorf("body: %w", err)
	}
	if head.Seq != seq {
		return Report{}, fmt.Errorf("body has seq %d, the file name %d", head.Seq, seq)
	}
	return Report{Seq: seq, Signature: string(sig), Body: body}, nil
}

// NextSeq hands out the next seq, persisted before it is returned.
func (s *Spool) NextSeq() (uint64, error) {
	n := s.last + 1
	if err := atomicfile.Write(s.seqPath, []byte(strconv.FormatUint(n, 10)+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	s.last = n
	return n, nil
}

// Put spools r, whose Seq came from NextSeq and is above every spooled one,
// then drops the oldest reports until the spool is within its bounds.
func (s *Spool) Put(r Report) error {
	if r.Seq == 0 || r.Seq > s.last {
		return fmt.Errorf("spool: seq %d was not handed out by NextSeq", r.Seq)
	}
	if n := len(s.items); n > 0 && r.Seq <= s.items[n-1].seq {
		return fmt.Errorf("spool: seq %d is not above the newest spooled, %d", r.Seq, s.items[n-1].seq)
	}
	if strings.ContainsAny(r.Signature, "\r\n") {
		return errors.New("spool: signature holds a line break")
	}
	size := int64(len(r.Signature) + 1 + len(r.Body))
	if size > s.opt.MaxBytes {
		return fmt.Errorf("spool: report %d is %d bytes, more than the spool holds (%d)", r.Seq, size, s.opt.MaxBytes)
	}
	data := make([]byte, 0, size)
	data = append(append(append(data, r.Signature...), '\n'), r.Body...)
	if err := atomicfile.Write(filepath.Join(s.dir, name(r.Seq)), data, 0o600); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.items = append(s.items, item{r.Seq, size})
	s.bytes += size
	return s.trim()
}

// trim drops the oldest reports until the spool is within its bounds.
func (s *Spool) trim() error {
	for len(s.items) > 0 && (len(s.items) > s.opt.MaxCount || s.bytes > s.opt.MaxBytes) {
		old := s.items[0]
		if err := s.Remove(old.seq); err != nil {
			return err
		}
		s.dropped++
		s.opt.Log.Warn("spool full: dropped the oldest report undelivered", "seq", old.seq, "spooled", len(s.items),
			"spooledBytes", s.bytes, "maxCount", s.opt.MaxCount, "maxBytes", s.opt.MaxBytes, "droppedTotal", s.dropped)
	}
	return nil
}

// Oldest returns the oldest spooled report; ok is false when there is none.
func (s *Spool) Oldest() (r Report, ok bool, err error) {
	for len(s.items) > 0 {
		seq := s.items[0].seq
		path := filepath.Join(s.dir, name(seq))
		b, err := os.ReadFile(path)
		if err == nil {
			r, err = parse(seq, b)
			if err == nil {
				return r, true, nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Report{}, false, fmt.Errorf("spool: %w", err)
		}
		s.opt.Log.Error("spool: a spooled report is gone or unreadable; skipping it", "file", path, "err", err)
		if err := s.Remove(seq); err != nil {
			return Report{}, false, err
		}
	}
	return Report{}, false, nil
}

// Remove removes the report seq; removing one that is not spooled is not
// an error.
func (s *Spool) Remove(seq uint64) error {
	i := -1
	for j, it := range s.items {
		if it.seq == seq {
			i = j
			break
		}
	}
	if i < 0 {
		return nil
	}
	if err := os.Remove(filepath.Join(s.dir, name(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	s.bytes -= s.items[i].size
	s.items = append(s.items[:i], s.items[i+1:]...)
	return nil
}

// Len is the number of spooled reports; Bytes their size on disk; Dropped
// how many were dropped for room since Open.
func (s *Spool) Len() int     { return len(s.items) }
func (s *Spool) Bytes() int64 { return s.bytes }
func (s *Spool) Dropped() int { return s.dropped }
