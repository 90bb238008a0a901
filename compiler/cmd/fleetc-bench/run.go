package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/bench"
	"github.com/fleetc/fleetc/compiler/internal/gitserve"
	"github.com/fleetc/fleetc/compiler/internal/load"
	"github.com/fleetc/fleetc/compiler/internal/target"
)

type config struct {
	sizes   string
	apps    int
	runs    int
	work    string
	out     string
	anchors bool
	// Limits for the anchors run as processes (whole-inventory CUE).
	anchorLimit time.Duration
	anchorRSS   int64 // KiB
}

// now is the benchmark's pinned compile clock (inside most windows).
const now = "2026-11-24T09:00:00Z"

// approvals approve as members of every generated team, so first
// compiles deploy instead of waiting for sign-off.
const approvals = `{"approvals":[{"user":"hweiss","commit":"4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},{"user":"dokafor","commit":"4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},{"user":"tmorales","commit":"4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},{"user":"mkowalski","commit":"4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"}]}`

// approvedCommit is the commit the approvals were given on.
const approvedCommit = "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"

// sample is one timed run of a command.
type sample struct {
	wall time.Duration
	rss  int64 // KiB
}

type row struct {
	name    string
	samples []sample
	note    string
}

func (r row) median() sample {
	ws := make([]time.Duration, len(r.samples))
	rs := make([]int64, len(r.samples))
	for i, s := range r.samples {
		ws[i], rs[i] = s.wall, s.rss
	}
	slices.Sort(ws)
	slices.Sort(rs)
	if len(ws) == 0 {
		return sample{}
	}
	return sample{wall: ws[len(ws)/2], rss: rs[len(rs)/2]}
}

func run(ctx context.Context, cfg config) error {
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(cfg.work, "fleetc")
	if out, err := exec.Command("go", "build", "-o", bin, "./compiler/cmd/fleetc").CombinedOutput(); err != nil {
		return fmt.Errorf("build fleetc: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var report, all bytes.Buffer
	fmt.Fprintf(&report, "# fleetc benchmark\n\n%s, %d CPUs, %s; medians of %d runs; load average at start: %s\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), cfg.runs, loadavg())
	for _, s := range strings.Split(cfg.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		b := &sizeBench{cfg: cfg, bin: bin, self: self, stores: n, dir: filepath.Join(cfg.work, strconv.Itoa(n))}
		if err := b.run(ctx, &report); err != nil {
			return fmt.Errorf("%d stores: %w", n, err)
		}
		os.Stdout.Write(report.Bytes()) // each size as soon as it is measured
		all.Write(report.Bytes())
		report.Reset()
	}
	if cfg.out != "" {
		return os.WriteFile(cfg.out, all.Bytes(), 0o644)
	}
	return nil
}

type sizeBench struct {
	cfg    config
	bin    string
	self   string
	stores int
	dir    string
	rows   []row
	facts  []string
}

func (b *sizeBench) path(p string) string { return filepath.Join(b.dir, p) }

func (b *sizeBench) run(ctx context.Context, report *bytes.Buffer) error {
	fleet := b.path("fleet")
	if _, err := os.Stat(fleet); err != nil {
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return err
		}
		if _, err := b.fleetc(nil, "gen", "--stores", strconv.Itoa(b.stores), "--apps", strconv.Itoa(b.cfg.apps), "--out", fleet); err != nil {
			return err
		}
	}
	if err := os.WriteFile(b.path("approvals.json"), []byte(approvals), 0o644); err != nil {
		return err
	}
	appFile := filepath.Join(fleet, "apps", "pos.cue")
	orig, err := os.ReadFile(appFile)
	if err != nil {
		return err
	}
	defer os.WriteFile(appFile, orig, 0o644)
	env := []string{"XDG_CACHE_HOME=" + b.path("cache")}
	compile := func(verb string) []string {
		return []string{"--root", fleet, "-q", "--format", "json", verb, "--out", b.path("deploy"), "--now", now, "--approvals", b.path("approvals.json"), "--commit", approvedCommit}
	}

	cold := row{name: "cold full compile (empty cache, empty deploy dir)"}
	var written struct {
		Written struct {
			Files     int   `json:"files"`
			Bytes     int64 `json:"bytes"`
			Unchanged int   `json:"unchanged"`
		} `json:"written"`
	}
	// A cold run's output and cache are moved aside, not deleted, and
	// deleted only once this size is measured: on an ext4 file system
	// without a journal (this machine's), creating files right after
	// deleting a tree of 130,000 inodes costs several times the usual
	// system time (the kernel steps over recently deleted inodes), which
	// would measure the previous run's cleanup, not the compile.
	trash := b.path("trash")
	defer os.RemoveAll(trash)
	discard := func(p string) error {
		if err := os.MkdirAll(trash, 0o755); err != nil {
			return err
		}
		dst, err := os.MkdirTemp(trash, filepath.Base(p))
		if err != nil {
			return err
		}
		if err := os.Rename(p, filepath.Join(dst, "x")); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	for range b.cfg.runs {
		if err := discard(b.path("deploy")); err != nil {
			return err
		}
		if err := discard(b.path("cache")); err != nil {
			return err
		}
		s, out, err := b.timed(env, b.bin, compile("compile")...)
		if err != nil {
			return err
		}
		cold.samples = append(cold.samples, s)
		if err := json.Unmarshal(out, &written); err != nil {
			return fmt.Errorf("compile output: %w", err)
		}
	}
	cold.note = fmt.Sprintf("%d files, %s written", written.Written.Files, mib(written.Written.Bytes))
	b.rows = append(b.rows, cold)

	warm := row{name: "warm compile after one app's version bump"}
	version := regexp.MustCompile(`(?m)^(\tversion: +")(\d+)\.(\d+)\.(\d+)(")`)
	bump := func(i int) error {
		next := version.ReplaceAllString(string(orig), fmt.Sprintf("${1}${2}.${3}.%d${5}", 100+i))
		if next == string(orig) {
			return fmt.Errorf("no version line to bump in %s", appFile)
		}
		return os.WriteFile(appFile, []byte(next), 0o644)
	}
	for i := range b.cfg.runs {
		if err := bump(i); err != nil {
			return err
		}
		s, out, err := b.timed(env, b.bin, compile("compile")...)
		if err != nil {
			return err
		}
		warm.samples = append(warm.samples, s)
		if err := json.Unmarshal(out, &written); err != nil {
			return err
		}
	}
	warm.note = fmt.Sprintf("%d of %d files rewritten", written.Written.Files-written.Written.Unchanged, written.Written.Files)
	b.rows = append(b.rows, warm)

	plan := row{name: "plan of one app's version bump"}
	for i := range b.cfg.runs {
		if err := bump(b.cfg.runs + i); err != nil {
			return err
		}
		s, _, err := b.timed(env, b.bin, compile("plan")...)
		if err != nil {
			return err
		}
		plan.samples = append(plan.samples, s)
	}
	b.rows = append(b.rows, plan)

	store, err := firstStore(b.path("deploy"))
	if err != nil {
		return err
	}
	explain := row{name: "explain one store and app", note: store + " pos"}
	for range b.cfg.runs {
		s, _, err := b.timed(env, b.bin, "--root", fleet, "-q", "explain", store, "pos", "--out", b.path("deploy"), "--now", now)
		if err != nil {
			return err
		}
		explain.samples = append(explain.samples, s)
	}
	b.rows = append(b.rows, explain)

	if err := b.publishRows(env, bump, compile); err != nil {
		return err
	}

	pack, err := packSize(b.path("deploy"), b.path("pack.git"))
	if err != nil {
		return err
	}
	b.facts = append(b.facts, fmt.Sprintf("deploy repo after one commit and `git gc`: %s packed", pack))

	if b.cfg.anchors {
		if err := b.anchors(ctx, fleet); err != nil {
			return err
		}
	}
	b.write(report)
	return nil
}

// publishRows measures fleetc publish to a git http-backend server on
// loopback: the deploy tree as it stands as the repository's first commit,
// then the change of one more app bump (compile, then publish the branch).
func (b *sizeBench) publishRows(env []string, bump func(int) error, compile func(string) []string) error {
	srv, err := gitserve.Start(b.path("git-server"))
	if err != nil {
		return err
	}
	defer srv.Close()
	repo, err := srv.NewRepo("deploy.git")
	if err != nil {
		return err
	}
	publish := func(base, branch string) (sample, error) {
		s, _, err := b.timed(env, b.bin, "-q", "--format", "json", "publish", "--dir", b.path("deploy"), "--repo", repo,
			"--provider", "git", "--base", base, "--branch", branch, "--clone-dir", b.path("clone.git"))
		return s, err
	}
	os.RemoveAll(b.path("clone.git"))
	first, err := publish("seed", "main")
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{name: "publish the whole tree as the first commit (git http-backend on loopback)", samples: []sample{first}})
	change := row{name: "publish one app's version bump (the resulting change)"}
	for i := range b.cfg.runs {
		if err := bump(2*b.cfg.runs + i); err != nil {
			return err
		}
		if _, _, err := b.timed(env, b.bin, compile("compile")...); err != nil {
			return err
		}
		s, err := publish("main", "fleetc/rollout")
		if err != nil {
			return err
		}
		change.samples = append(change.samples, s)
	}
	b.rows = append(b.rows, change)
	return nil
}

func (b *sizeBench) anchors(ctx context.Context, fleet string) error {
	cue := row{name: "anchor: whole inventory as one CUE value (cue export)"}
	for range b.cfg.runs {
		s, killed, err := guarded(b.cfg.anchorLimit, b.cfg.anchorRSS, b.self, "anchor", "cue", fleet)
		if err != nil {
			return err
		}
		cue.samples = append(cue.samples, s)
		if killed != "" {
			// Once over a limit it will be again: one run says enough.
			cue.note = "did not finish: killed " + killed + "; the time is a lower bound"
			break
		}
	}
	b.rows = append(b.rows, cue)

	f, diags, err := load.Load(ctx, load.Options{Root: fleet})
	if err != nil || diags.HasErrors() {
		return fmt.Errorf("load for the OPA anchor: %v %v", err, diags.Err())
	}
	t, _ := target.Resolve(ctx, f, target.Options{})
	nowT, _ := time.Parse(time.RFC3339, now)
	opa, err := bench.OPANaive(ctx, fleet, t, nowT, 20000)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{name: "anchor: one OPA evaluation per (store, app) pair, no reuse",
		samples: []sample{{wall: opa.Total}},
		note:    fmt.Sprintf("%d pairs sampled at %s each, × %d pairs", opa.Sampled, opa.PerPair.Round(time.Microsecond), opa.Pairs)})

	kz, err := bench.KustomizePerStore(b.path("deploy"), 300)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{name: "anchor: kustomize build per store",
		samples: []sample{{wall: kz.Total}},
		note:    fmt.Sprintf("%d stores sampled at %s each, × %d stores", kz.Sampled, kz.PerStore.Round(time.Microsecond), kz.Stores)})
	return nil
}

func (b *sizeBench) write(w *bytes.Buffer) {
	fmt.Fprintf(w, "\n## %d stores × %d apps\n\n| measurement | median | peak RSS | runs | note |\n|---|---:|---:|---|---|\n", b.stores, b.cfg.apps)
	var coldWall time.Duration
	for i, r := range b.rows {
		m := r.median()
		if i == 0 {
			coldWall = m.wall
		}
		var runs []string
		for _, s := range r.samples {
			runs = append(runs, secs(s.wall))
		}
		rss := "–"
		if m.rss > 0 {
			rss = mib(m.rss * 1024)
		}
		note := r.note
		if strings.HasPrefix(r.name, "anchor") && coldWall > 0 {
			ratio := fmt.Sprintf("%.1f× fleetc's cold compile", m.wall.Seconds()/coldWall.Seconds())
			if note == "" {
				note = ratio
			} else {
				note += "; " + ratio
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.name, secs(m.wall), rss, strings.Join(runs, ", "), note)
	}
	for _, f := range b.facts {
		fmt.Fprintf(w, "\n- %s", f)
	}
	fmt.Fprintln(w)
}

func (b *sizeBench) fleetc(env []string, args ...string) ([]byte, error) {
	_, out, err := b.timed(env, b.bin, args...)
	return out, err
}

// timed runs a command under GNU time and returns its wall time, peak RSS
// and stdout.
func (b *sizeBench) timed(env []string, name string, args ...string) (sample, []byte, error) {
	tf := b.path("time.out")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %M", "-o", tf, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, nil, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(stderr.String()))
	}
	t, err := os.ReadFile(tf)
	if err != nil {
		return sample{}, nil, err
	}
	f := strings.Fields(string(t))
	var rss int64
	if len(f) == 2 {
		rss, _ = strconv.ParseInt(f[1], 10, 64)
	}
	return sample{wall: wall, rss: rss}, stdout.Bytes(), nil
}

func firstStore(deploy string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(deploy, "clusters"))
	if err != nil || len(ents) == 0 {
		return "", fmt.Errorf("no stores in %s: %v", deploy, err)
	}
	return ents[len(ents)/2].Name(), nil
}

// packSize commits the deploy tree into a fresh repository, packs it and
// returns the pack size.
func packSize(tree, gitDir string) (string, error) {
	os.RemoveAll(gitDir)
	env := append(os.Environ(), "GIT_DIR="+gitDir, "GIT_WORK_TREE="+tree,
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@localhost", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@localhost")
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "bench"}, {"gc", "-q"}} {
		// No automatic gc behind our back: it would race the explicit one.
		cmd := exec.Command("git", append([]string{"-c", "gc.auto=0"}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s: %v\n%s", args[0], err, out)
		}
	}
	cmd := exec.Command("git", "count-objects", "-vH")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "size-pack: "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no size-pack in git count-objects output")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(b int64) string {
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// guarded runs a command, sampling its resident memory, and kills it when
// it runs longer than limit or grows past maxRSS (KiB): the naive anchors
// can take longer than the machine has memory for. killed says why.
func guarded(limit time.Duration, maxRSS int64, name string, args ...string) (sample, string, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var peak int64
	for {
		select {
		case err := <-done:
			if err != nil {
				return sample{}, "", fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(stderr.String()))
			}
			return sample{wall: time.Since(start), rss: peak}, "", nil
		case <-tick.C:
			if rss := procRSS(cmd.Process.Pid); rss > peak {
				peak = rss
			}
			elapsed := time.Since(start)
			why := ""
			switch {
			case elapsed > limit:
				why = fmt.Sprintf("after %s", secs(elapsed))
			case peak > maxRSS:
				why = fmt.Sprintf("at %s resident after %s", mib(peak*1024), secs(elapsed))
			}
			if why != "" {
				cmd.Process.Kill()
				<-done
				return sample{wall: elapsed, rss: peak}, why, nil
			}
		}
	}
}

// procRSS is a process's resident set in KiB (0 when unknown).
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
