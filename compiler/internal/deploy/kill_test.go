package deploy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killTrees are the trees the kill test moves between: a one-app bump
// (2 → 1), and a tree with 1,000 stores fewer and every profile changed
// (3), at 10,000 stores.
var killTrees = []string{"10000:1", "10000:2", "9000:3"}

func killTree(spec string) *Tree {
	s, v, _ := strings.Cut(spec, ":")
	stores, _ := strconv.Atoi(s)
	version, _ := strconv.Atoi(v)
	t := syntheticTree(stores, version)
	for p, b := range t.Files { // fleetc's files, as render writes them (see owned)
		if !strings.HasPrefix(p, ".fleetc/") {
			t.Files[p] = append([]byte(GeneratedHeader), b...)
		}
	}
	return t
}

// childWrite writes the tree spec names into dir ("loop": tree 1,500:1
// fifteen times, counting refusals) after printing "writing".
func childWrite(dir, spec string) {
	if spec == "loop" {
		t := syntheticTree(1500, 1)
		fmt.Println("writing")
		done, refused := 0, 0
		for range 15 {
			_, err := Write(dir, t)
			var locked *LockedError
			switch {
			case errors.As(err, &locked):
				refused++
			case err != nil:
				fmt.Println("error:", err)
				os.Exit(1)
			default:
				done++
			}
		}
		fmt.Printf("%d writes, %d refused\n", done, refused)
		os.Exit(0)
	}
	t := killTree(spec)
	// Each step of the write is announced, for a parent that kills the
	// child a random moment after one of them.
	writeHook = func(step string) error { fmt.Println("step", step); return nil }
	fmt.Println("writing")
	if _, err := Write(dir, t); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("done")
	os.Exit(0)
}

// TestKill9AtRandomPoints kills a child process writing a 10,000-store
// tree with SIGKILL at random moments, again and again, starting from a
// tree with or without its index, or from no tree. After each kill a
// reader's Recover must leave exactly the old tree or the new one, byte
// for byte, never a mix, with no journal or staging left; the next write
// starts from there. FLEETC_KILL_SEED replays a run; FLEETC_KILL_COUNT and
// FLEETC_KILL_SECONDS bound it (default 30 kills or 25 s).
func TestKill9AtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes for up to a minute")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FLEETC_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	maxKills, budget := envInt("FLEETC_KILL_COUNT", 30), time.Duration(envInt("FLEETC_KILL_SECONDS", 25))*time.Second
	t.Logf("seed %d (FLEETC_KILL_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	want := make([]map[string]string, len(killTrees))
	for i, spec := range killTrees {
		want[i] = treeHashes(killTree(spec))
	}
	dir := filepath.Join(killDir(t), "repo")

	// How long an uninterrupted write takes in a child, cold (a new tree)
	// and warm: the kills land anywhere in that span.
	var spans [2]time.Duration
	for i, spec := range killTrees[:2] {
		took, finished := runChild(t, dir, spec, "", -1)
		if !finished {
			t.Fatal("an uninterrupted child did not finish")
		}
		spans[i] = took
	}
	// The span the kills land in adapts: longer while they all leave the
	// old tree, shorter when writes finish first, so they straddle the
	// commit point (syncs on a busy machine move it).
	span := map[int]time.Duration{-1: spans[0]} // by the tree written; -1: a new tree
	for i := range killTrees {
		span[i] = spans[1]
	}
	if got := readTreeHashes(t, dir); !maps.Equal(got, want[1]) {
		t.Fatal("uninterrupted writes did not give tree 2")
	}
	cur := 1 // index into killTrees; -1: no tree
	kills, finished, fromScratch, withoutIndex := 0, 0, 0, 0
	outcomes, steps := map[string]int{}, map[string]int{}
	start := time.Now()
	for kills < maxKills && time.Since(start) < budget {
		next := rng.IntN(2) // mostly a one-app bump; 1 in 8 a big change
		if rng.IntN(8) == 0 {
			next = 2
		}
		if next == cur {
			next = (next + 1) % 2
		}
		switch rng.IntN(12) {
		case 0:
			os.RemoveAll(dir)
			cur = -1
			fromScratch++
		case 1, 2:
			os.Remove(filepath.Join(dir, filepath.FromSlash(indexPath)))
			if cur >= 0 {
				withoutIndex++
			}
		}
		kind := next
		if cur < 0 {
			kind = -1
		}
		// Half the kills land anywhere in the write's span, half a random
		// moment (up to 50 ms) after a random step, so every phase is hit
		// however slow the machine is today.
		delay := time.Duration(rng.Int64N(int64(span[kind])))
		after := ""
		if rng.IntN(2) == 0 {
			after = killSteps[rng.IntN(len(killSteps))]
			delay = time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		}
		steps[after]++
		_, done := runChild(t, dir, killTrees[next], after, delay)
		if done {
			finished++
		} else {
			kills++
		}
		if err := Recover(dir); err != nil {
			t.Fatalf("seed %d, kill %d: Recover: %v", seed, kills, err)
		}
		got := readTreeHashes(t, dir)
		var old map[string]string
		if cur >= 0 {
			old = want[cur]
		}
		switch {
		case maps.Equal(got, want[next]):
			outcomes["new"]++
			cur = next
			if done {
				span[kind] = span[kind] * 7 / 10
			}
		case cur >= 0 && maps.Equal(got, old), cur < 0 && got == nil:
			outcomes["old"]++
			span[kind] = span[kind] * 3 / 2 // the kills still land before the commit: reach further
		default:
			t.Fatalf("seed %d, kill %d after %s (from %d, done %v): the tree (%d files) is neither %s nor the old tree: against the new one %s; against the old one %s",
				seed, kills, delay, cur, done, len(got), killTrees[next], treeDiff(got, want[next]), treeDiff(got, old))
		}
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(journalPath))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("seed %d: journal left after Recover: %v", seed, err)
		}
		if l := leftovers(t, dir); len(l) != 0 {
			t.Fatalf("seed %d: leftovers after Recover: %v", seed, l)
		}
	}
	// Whatever the kills left, a full verify finds nothing to repair and
	// the next write is exact.
	l, err := TakeLock(dir, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur >= 0 {
		ws, err := l.Write(killTree(killTrees[cur]), WriteOptions{Verify: true})
		if err != nil || ws.Written != 0 || ws.Removed != 0 {
			t.Errorf("verify after the kills: %+v %v", ws, err)
		}
	}
	if _, err := l.Write(killTree(killTrees[0]), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if got := readTreeHashes(t, dir); !maps.Equal(got, want[0]) {
		t.Error("the write after the kills is not exact")
	}
	t.Logf("%d kills survived (%d writes finished before their kill; %d from no tree, %d without an index) in %s; outcomes %v; kills after steps %v; uninterrupted writes took %s cold, %s warm",
		kills, finished, fromScratch, withoutIndex, time.Since(start).Round(time.Millisecond), outcomes, steps, spans[0].Round(time.Millisecond), spans[1].Round(time.Millisecond))
	if kills == 0 {
		t.Error("no child was killed mid-write")
	}
}

// killSteps are the steps of a write (see hook) a kill may follow.
var killSteps = []string{"journal", "commit", "apply", "mid-apply", "finish", "move-new"}

// runChild runs a child writing spec into dir and, unless delay < 0,
// kills it with SIGKILL delay after it starts writing, or after it
// reaches step after if that is not "". It reports how long the write
// ran and whether the child finished it.
func runChild(t *testing.T, dir, spec, after string, delay time.Duration) (time.Duration, bool) {
	t.Helper()
	cmd, r, line := child(t, "write", dir, "FLEETC_DEPLOY_TREE="+spec)
	if line != "writing" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %s", line)
	}
	start := time.Now()
	var seen strings.Builder
	if after != "" {
		for {
			line, err := r.ReadString('\n')
			seen.WriteString(line)
			if err != nil || line == "step "+after+"\n" {
				break
			}
		}
	}
	if delay >= 0 {
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	rest, _ := r.ReadString(0)
	rest = seen.String() + rest
	err := cmd.Wait()
	took := time.Since(start)
	if strings.Contains(rest, "error:") {
		t.Fatalf("child writing %s: %s", spec, rest)
	}
	if delay < 0 && err != nil {
		t.Fatalf("child writing %s: %v", spec, err)
	}
	return took, strings.Contains(rest, "done")
}

// treeHashes is each path of t with a hash of its content.
func treeHashes(t *Tree) map[string]string {
	out := make(map[string]string, len(t.Files))
	for p, b := range t.Files {
		out[p] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

// readTreeHashes is treeHashes of the regular files under dir (not .git,
// not Write's bookkeeping); nil when dir does not exist.
func readTreeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == ".git" || rel == journalPath) {
			return filepath.SkipDir
		}
		if d.IsDir() || bookkeeping(rel) {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// treeDiff summarises how got differs from want: a few paths of each kind.
func treeDiff(got, want map[string]string) string {
	var extra, missing, differ []string
	for p, h := range got {
		switch w, ok := want[p]; {
		case !ok:
			extra = append(extra, p)
		case w != h:
			differ = append(differ, p)
		}
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			missing = append(missing, p)
		}
	}
	few := func(ps []string) string {
		slices.Sort(ps)
		return fmt.Sprintf("%d %v", len(ps), ps[:min(3, len(ps))])
	}
	return fmt.Sprintf("extra %s, missing %s, differing %s", few(extra), few(missing), few(differ))
}

// killDir is where the kill test writes: a directory in /dev/shm when
// there is one (a kill -9 is a process crash, not a power loss: memory
// semantics suffice, and 40 writes of 11,700 files do not wait on a disk
// other jobs share), else the test's temporary directory.
func killDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "fleetc-kill-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
