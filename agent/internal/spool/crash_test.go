package spool

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashChildEnv = "FLEETC_SPOOL_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild spools reports into dir as fast as it can, delivering (removing)
// the oldest when more than 20 wait, printing each completed step, until it
// is killed.
func crashChild(dir string) {
	s, err := Open(dir, Options{MaxBytes: 1 << 30, MaxCount: 1 << 20})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for {
		seq, err := s.NextSeq()
		if err == nil {
			err = s.Put(Report{Seq: seq, Signature: "ed25519=c2ln", Body: body(seq, int(seq%997))})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Fprintf(os.Stdout, "put %d\n", seq)
		if s.Len() > 20 {
			r, _, err := s.Oldest()
			if err == nil {
				err = s.Remove(r.Seq)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			fmt.Fprintf(os.Stdout, "rm %d\n", r.Seq)
		}
	}
}

// TestCrash kills a child writing into the spool with SIGKILL at random
// moments, reopens the spool after each kill and checks that every file
// parses, that nothing completed was lost, and that seqs only grow across
// restarts.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	expected := map[uint64]bool{} // put and not removed, as the children said
	var last uint64               // the highest seq the previous reopen knew of
	puts := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range 30 {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rng.IntN(100)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err == nil || strings.TrimSpace(stderr.String()) != "" {
			t.Fatalf("iteration %d: child did not die by the kill: %v: %s", i, err, stderr.String())
		}
		var maxPut uint64
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			op, n, ok := strings.Cut(line, " ")
			seq, err := strconv.ParseUint(n, 10, 64)
			if !ok || err != nil {
				continue // the child was killed before printing anything
			}
			switch op {
			case "put":
				if seq <= last || seq <= maxPut {
					t.Fatalf("iteration %d: child spooled seq %d, not above %d (previous run) and %d (this run)", i, seq, last, maxPut)
				}
				maxPut = seq
				expected[seq] = true
				puts++
			case "rm":
				delete(expected, seq)
			}
		}

		var logs bytes.Buffer
		s, err := Open(dir, Options{MaxBytes: 1 << 30, MaxCount: 1 << 20, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatalf("iteration %d: reopen: %v", i, err)
		}
		if s.corrupt != 0 {
			t.Fatalf("iteration %d: %d spooled files did not parse:\n%s", i, s.corrupt, logs.String())
		}
		// Each report must read back whole.
		have := map[uint64]bool{}
		for _, it := range s.items {
			b, err := os.ReadFile(filepath.Join(s.dir, name(it.seq)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parse(it.seq, b); err != nil {
				t.Fatalf("iteration %d: report %d: %v", i, it.seq, err)
			}
			have[it.seq] = true
		}
		// The step the kill interrupted may have completed unprinted: one
		// report more (the newest) or one less (the oldest).
		var extra, missing []uint64
		for seq := range have {
			if !expected[seq] {
				extra = append(extra, seq)
			}
		}
		for seq := range expected {
			if !have[seq] {
				missing = append(missing, seq)
			}
		}
		exp := slices.Sorted(maps.Keys(expected))
		if len(extra) > 1 || len(extra) == 1 && extra[0] <= maxPut {
			t.Fatalf("iteration %d: spool holds %v that no child completed (last printed put %d)", i, extra, maxPut)
		}
		if len(missing) > 1 || len(missing) == 1 && missing[0] != exp[0] {
			t.Fatalf("iteration %d: reports %v lost (expected %v)", i, missing, exp)
		}
		if s.last < maxPut {
			t.Fatalf("iteration %d: reopened next seq %d, but %d was spooled", i, s.last+1, maxPut)
		}
		last = s.last
		expected = have
	}
	if puts < 30 {
		t.Errorf("only %d reports spooled over 30 runs: the children hardly ran", puts)
	}
	t.Logf("%d reports spooled across 30 kills", puts)
}
