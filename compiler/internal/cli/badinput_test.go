package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/fleetc/fleetc/compiler/internal/forge/forgetest"
	"github.com/fleetc/fleetc/compiler/internal/load"
)

// The bad-input corpus (issue 11): compiler/testdata/badinput/*.txtar, each
// a broken fleet laid over _base.txtar, plus the cases badGenerated makes
// (random bytes with a fixed seed, deep nesting, huge values, files that are
// not text). A case's comment names what it must fail with:
//
//	want FILE:LINE:COL MESSAGE-SUBSTRING   (one or more; FILE alone when
//	                                        the finding is about a file)
//	delete FILE                            (a base file the case removes)
//
// For every case, fleetc run in-process must:
//   - validate: exit 1 (a finding, never exit 2, "a fleetc bug"), with
//     each wanted diagnostic at its position; the same again from a warm
//     cache;
//   - compile --out onto an existing deploy tree (the base fleet's): exit
//     1 with the same diagnostics, every one of which validate reported
//     too (validate rejects everything compile rejects), and the tree left
//     byte for byte as it was;
//   - finish each command within badCaseBound.
const badCaseBound = 20 * time.Second

const badNow = "2026-11-24T02:00:00Z"

type badCase struct {
	name    string
	comment string
	files   map[string][]byte // laid over the base; nil value: delete
}

func TestBadInputCorpus(t *testing.T) {
	dir := badCorpusDir(t)
	base := readBadArchive(t, filepath.Join(dir, "_base.txtar"))
	cases := storedBadCases(t, dir)
	cases = append(cases, badGenerated(t)...)
	if len(cases) < 50 {
		t.Fatalf("corpus has %d cases; did the directory move?", len(cases))
	}
	tree := baseDeployTree(t, base.files)
	var slowest string
	var slowestTook time.Duration
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			took := runBadCase(t, base.files, tree, c)
			if took > slowestTook {
				slowest, slowestTook = c.name, took
			}
		})
	}
	t.Logf("bad-input corpus: %d cases; slowest %s: %v (validate cold, warm and compile)", len(cases), slowest, slowestTook.Round(time.Millisecond))
}

func runBadCase(t *testing.T, base map[string][]byte, tree string, c badCase) time.Duration {
	wants, deletes := parseBadComment(t, c.comment)
	if len(wants) == 0 {
		t.Fatal("case has no want line")
	}
	root := t.TempDir()
	files := map[string][]byte{}
	for k, v := range base {
		files[k] = v
	}
	for _, d := range deletes {
		if _, ok := files[d]; !ok {
			t.Fatalf("delete %s: not a base file", d)
		}
		delete(files, d)
	}
	for k, v := range c.files {
		files[k] = v
	}
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(root, "deploy")
	copyDir(t, tree, out)
	before := hashTree(t, out)
	cache := filepath.Join(root, ".cache")

	var total time.Duration
	run := func(what string, args ...string) (int, []string) {
		t.Helper()
		code, stderr, took := runBounded(t, what, append([]string{"--root", root, "-q"}, args...))
		total += took
		return code, diagLines(stderr)
	}
	code, cold := run("validate (cold cache)", "--cache-dir", cache, "validate")
	if code != ExitFindings {
		t.Fatalf("validate exit %d, want %d (a finding); stderr:\n%s", code, ExitFindings, strings.Join(cold, "\n"))
	}
	if len(cold) > load.MaxErrors+1 {
		t.Errorf("validate printed %d diagnostics; at most %d and a count of the rest are shown", len(cold), load.MaxErrors)
	}
	for _, w := range wants {
		if !slices.ContainsFunc(cold, w.matches) {
			t.Errorf("validate did not report %s; it reported:\n%s", w, strings.Join(cold, "\n"))
		}
	}
	if code, warm := run("validate (warm cache)", "--cache-dir", cache, "validate"); code != ExitFindings || !slices.Equal(warm, cold) {
		t.Errorf("validate from a warm cache: exit %d, diagnostics\n%s\nwant exit 1 and the cold run's\n%s", code, strings.Join(warm, "\n"), strings.Join(cold, "\n"))
	}
	code, comp := run("compile", "--cache-dir", "off", "compile", "--out", out, "--now", badNow, "--approvals", filepath.Join(root, "approvals.json"), "--commit", forgetest.ExampleCommit)
	if code != ExitFindings {
		t.Fatalf("compile exit %d, want %d; stderr:\n%s", code, ExitFindings, strings.Join(comp, "\n"))
	}
	for _, w := range wants {
		if !slices.ContainsFunc(comp, w.matches) {
			t.Errorf("compile did not report %s; it reported:\n%s", w, strings.Join(comp, "\n"))
		}
	}
	for _, l := range comp {
		if !slices.Contains(cold, l) {
			t.Errorf("compile rejects what validate let through: %s", l)
		}
	}
	if after := hashTree(t, out); after != before {
		t.Errorf("the failed compile changed the deploy tree --out:\n%s", diffTrees(before, after))
	}
	return total
}

// runBounded runs fleetc in-process and fails the test when it takes longer
// than badCaseBound (the command keeps running in its goroutine; the test
// binary's own timeout ends it).
func runBounded(t *testing.T, what string, args []string) (int, string, time.Duration) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), args, &stdout, &stderr)
		done <- result{code, stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr, time.Since(start)
	case <-time.After(badCaseBound):
		t.Fatalf("%s ran past %v: fleetc %s", what, badCaseBound, strings.Join(args, " "))
		return 0, "", 0
	}
}

// diagLines are fleetc's diagnostic lines, without the closing count.
func diagLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l == "" || strings.HasSuffix(l, " error") || strings.HasSuffix(l, " errors") || strings.HasSuffix(l, "; nothing written") {
			continue
		}
		out = append(out, l)
	}
	return out
}

type badWant struct{ pos, msg string }

func (w badWant) String() string { return fmt.Sprintf("%q at %s", w.msg, w.pos) }

// matches: the line's position starts with w.pos (a case that cannot
// know the column of random input gives file:line: or file:) and its
// message holds w.msg.
func (w badWant) matches(line string) bool {
	at, msg, ok := strings.Cut(line, ": ")
	return ok && strings.HasPrefix(at+":", w.pos) && strings.Contains(msg, w.msg)
}

func parseBadComment(t *testing.T, comment string) (wants []badWant, deletes []string) {
	for _, l := range strings.Split(comment, "\n") {
		if rest, ok := strings.CutPrefix(l, "want "); ok {
			pos, msg, _ := strings.Cut(rest, " ")
			wants = append(wants, badWant{pos, msg})
		}
		if rest, ok := strings.CutPrefix(l, "delete "); ok {
			deletes = append(deletes, strings.TrimSpace(rest))
		}
	}
	return wants, deletes
}

func badCorpusDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "badinput")
}

func readBadArchive(t *testing.T, path string) badCase {
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := badCase{name: strings.TrimSuffix(filepath.Base(path), ".txtar"), comment: string(a.Comment), files: map[string][]byte{}}
	for _, f := range a.Files {
		c.files[f.Name] = f.Data
	}
	return c
}

func storedBadCases(t *testing.T, dir string) []badCase {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []badCase
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(p), "_") {
			continue
		}
		cases = append(cases, readBadArchive(t, p))
	}
	return cases
}

var baseTree struct {
	once sync.Once
	dir  string
	err  error
}

// baseDeployTree compiles the base fleet once into a deploy tree that each
// case copies as its existing --out.
func baseDeployTree(t *testing.T, base map[string][]byte) string {
	baseTree.once.Do(func() {
		root, err := os.MkdirTemp("", "fleetc-badinput-")
		if err != nil {
			baseTree.err = err
			return
		}
		for name, b := range base {
			p := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				baseTree.err = err
				return
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				baseTree.err = err
				return
			}
		}
		baseTree.dir = filepath.Join(root, "deploy")
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), []string{"--root", root, "-q", "--cache-dir", "off", "compile", "--out", baseTree.dir,
			"--now", badNow, "--approvals", filepath.Join(root, "approvals.json"), "--commit", forgetest.ExampleCommit}, &stdout, &stderr); code != ExitOK {
			baseTree.err = fmt.Errorf("base fleet: compile exit %d:\n%s", code, stderr.String())
		}
	})
	if baseTree.err != nil {
		t.Fatal(baseTree.err)
	}
	return baseTree.dir
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hashTree lists every path under dir with its type, mode, size and
// content hash, one per line.
func hashTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(c))
		}
		fmt.Fprintf(&b, "%s %v %d %s\n", filepath.ToSlash(rel), fi.Mode(), fi.Size(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func diffTrees(before, after string) string {
	a, b := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// badGenerated makes the cases too large or too binary to store.
func badGenerated(t *testing.T) []badCase {
	gen := func(name, comment string, files map[string][]byte) badCase {
		return badCase{name: "gen/" + name, comment: comment, files: files}
	}
	one := func(path string, b []byte) map[string][]byte { return map[string][]byte{path: b} }
	pkg := func(body string) []byte { return []byte("package fleet\n\n" + body) }
	rng := rand.New(rand.NewPCG(11, 11))
	randomBytes := func(n int, alphabet []byte) []byte {
		b := make([]byte, n)
		for i := range b {
			if alphabet == nil {
				b[i] = byte(rng.UintN(256))
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		return b
	}
	printable := []byte("\n\t")
	for c := byte(' '); c < 0x7f; c++ {
		printable = append(printable, c)
	}
	cueish := []byte("abc{}[]:,\"\n 0123\\")
	// 600 stores with an unknown timezone: one error each, capped.
	var many strings.Builder
	for i := range 600 {
		fmt.Fprintf(&many, "stores: \"m-%04d\": {name: \"M\", geo: \"us\", timezone: \"Mars/Olympus\", hours: {}, jurisdiction: country: \"US\", attributes: owner: \"corporate\"}\n", i)
	}
	// Values 70 levels deep through a reference chain.
	schemaWithLooseID := func() map[string][]byte {
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
		files := map[string][]byte{}
		for _, p := range []string{"schemas/fleet.cue", "schemas/cue.mod/module.cue"} {
			b, err := os.ReadFile(filepath.Join(repo, p))
			if err != nil {
				t.Fatal(err)
			}
			files[p] = b
		}
		s := string(files["schemas/fleet.cue"])
		i := strings.Index(s, "#ID: =~")
		j := strings.Index(s[i:], "\n")
		if i < 0 || j < 0 {
			t.Fatal("schemas/fleet.cue has no #ID line")
		}
		files["schemas/fleet.cue"] = []byte(s[:i] + "#ID: string" + s[i+j:])
		return files
	}
	loose := schemaWithLooseID()
	loose["inventory/stores/four.cue"] = pkg("stores: \"../../etc\": {\n\tname: \"Four\"\n\tgeo: \"us/east/pa\"\n\ttimezone: \"UTC\"\n\thours: {}\n\tjurisdiction: country: \"US\"\n\tattributes: owner: \"corporate\"\n}\n")

	return []badCase{
		gen("random-bytes-100k", "100 KB of random bytes (seeded): a NUL byte comes early.\nwant apps/random.cue: not a text file",
			one("apps/random.cue", randomBytes(100_000, nil))),
		gen("random-printable-1m", "1 MB of random printable ASCII (seeded).\nwant apps/random.cue:",
			one("apps/random.cue", randomBytes(1_000_000, printable))),
		gen("random-cueish-1m", "1 MB of random CUE punctuation after a package clause (issue 11: 72,000 errors, minutes).\nwant apps/random.cue:",
			one("apps/random.cue", append([]byte("package fleet\n"), randomBytes(1_000_000, cueish)...))),
		gen("binary-nul", "A binary file (NUL bytes).\nwant apps/blob.cue:2:1 not a text file",
			one("apps/blob.cue", []byte("package fleet\n\x00\x01\x02\x03ELF"))),
		gen("not-utf8", "A Latin-1 file.\nwant fleet.cue:5:29 not valid UTF-8 (byte 0xe9 here)",
			one("fleet.cue", []byte("package fleet\n\nsettings: deployRepoSource: \"flux-system\"\n\nteams: legal: members: [\"ren\xe9\"]\n"))),
		gen("deep-braces", "A value 9,990 levels deep (issue 11: passed validate, minutes to render).\nwant apps/deep.cue:3:",
			one("apps/deep.cue", pkg("_deep: "+strings.Repeat("{a: ", 9990)+"1"+strings.Repeat("}", 9990)+"\n"))),
		gen("deep-lists", "Lists 100,000 levels deep.\nwant apps/deep.cue:3:",
			one("apps/deep.cue", pkg("_deep: "+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+"\n"))),
		gen("deep-label-chain", "A label chain a: a: a: ... 9,990 long.\nwant apps/deep.cue:3: nesting deeper than 64 levels",
			one("apps/deep.cue", pkg("_deep: "+strings.Repeat("a: ", 9990)+"1\n"))),
		gen("deep-attributes", "Nested attributes @a(@a(...)): CUE's scanner recursed until the stack overflowed (a crash).\nwant apps/deep.cue:67:3 nesting deeper than 64 levels",
			one("apps/deep.cue", pkg("_deep: 1 "+strings.Repeat("@a(\n", 500_000)+"\n"))),
		gen("long-selector-chain", "x.x.x... 500,000 long: a syntax tree CUE walked until the stack overflowed (a crash).\nwant apps/deep.cue:3: an expression with more than 1000 operators",
			one("apps/deep.cue", pkg("_deep: "+strings.Repeat("x.", 500_000)+"x\n"))),
		gen("long-operator-chain", "1+1+... 500,000 terms.\nwant apps/deep.cue:3: an expression with more than 1000 operators",
			one("apps/deep.cue", pkg("_deep: "+strings.Repeat("1+", 500_000)+"1\n"))),
		gen("wide-struct", "One struct of 10,001 fields (CUE's cost is quadratic in them).\nwant apps/wide.cue: more than 10000 fields in one struct",
			one("apps/wide.cue", pkg("_wide: {\n"+strings.Repeat("a: 1\n", 10_001)+"}\n"))),
		gen("huge-string-literal", "A 2 MB string literal.\nwant apps/pos.cue:3:12 string of 2.0 MiB, over the limit of 1.0 MiB",
			one("apps/pos.cue", pkg("_blob: {s: \"\"\"\n"+strings.Repeat(strings.Repeat("x", 1000)+"\n", 2100)+"\"\"\"}\n"))),
		gen("long-line", "A 2 MB line of garbage (on one line CUE's parser reports one error and goes on).\nwant apps/pos.cue:3:1 line longer than",
			one("apps/pos.cue", pkg(strings.Repeat("\"a", 1_000_000)+"\n"))),
		gen("huge-file", "A fleet file over 4 MiB is not read.\nwant inventory/stores/big.cue:1:1 over the limit of 4.0 MiB for one fleet file",
			one("inventory/stores/big.cue", pkg(strings.Repeat("// padding\n", 400_000)))),
		gen("many-errors", "600 stores with an unknown timezone: 50 errors shown, the rest counted.\nwant inventory/stores/many.cue:4: unknown timezone \"Mars/Olympus\"\nwant inventory/stores/many.cue:53:52 and 550 more errors in this file from here on",
			one("inventory/stores/many.cue", pkg(many.String()))),
		gen("schema-loose-id", "The repository's own schemas/ let any string be an id: the loader still holds ids to directory names.\nwant inventory/stores/four.cue:3:9 store id \"../../etc\": want lowercase letters",
			loose),
	}
}
