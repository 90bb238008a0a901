package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

func testState() *State {
	st := NewState()
	st.Variants["pos@1.4.0-0123456789"] = &Variant{
		App: "pos", Version: "1.4.0", Namespace: "pos",
		Source: model.AppSource{Helm: &model.HelmSource{Repository: "https://charts.example", Chart: "pos"}},
		Values: map[string]any{"replicas": json.Number("2"), "big": json.Number("12345678901234567890"), "ratio": json.Number("1.50")},
	}
	st.Variants["menu@2.0.0-abcdefabcd"] = &Variant{
		App: "menu", Version: "2.0.0", Namespace: "menu", DependsOn: []string{"pos"},
		Source: model.AppSource{Kustomize: &model.KustomizeSource{URL: "https://git.example/menu.git", Path: "./deploy"}},
	}
	st.Stores["b-2"] = &StoreState{Ring: "chain", Apps: map[string]string{"pos": "pos@1.4.0-0123456789"}}
	st.Stores["a-1"] = &StoreState{Ring: "canary", Apps: map[string]string{"pos": "pos@1.4.0-0123456789", "menu": "menu@2.0.0-abcdefabcd"}}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	st.Rollouts = map[string]*Rollout{"pos": {Target: "1.4.0", Revision: "r1", Started: at,
		Rings: []RingRollout{{Ring: "canary", Opened: &at, LastKnownGood: "1.3.0"}, {Ring: "chain"}}}}
	return st
}

func TestStateMarshal(t *testing.T) {
	got, err := testState().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":3,
"variants":{
"menu@2.0.0-abcdefabcd":{"app":"menu","version":"2.0.0","namespace":"menu","source":{"kustomize":{"url":"https://git.example/menu.git","path":"./deploy"}},"dependsOn":["pos"]},
"pos@1.4.0-0123456789":{"app":"pos","version":"1.4.0","namespace":"pos","source":{"helm":{"repository":"https://charts.example","chart":"pos"}},"values":{"big":12345678901234567890,"ratio":1.50,"replicas":2}}
},
"profiles":{
"canary-564d993742":{"ring":"canary","apps":{"menu":"menu@2.0.0-abcdefabcd","pos":"pos@1.4.0-0123456789"}},
"chain-8e97d19c38":{"ring":"chain","apps":{"pos":"pos@1.4.0-0123456789"}}
},
"stores":{
"a-1":"canary-564d993742",
"b-2":"chain-8e97d19c38"
},
"rollouts":{
"pos":{"target":"1.4.0","revision":"r1","started":"2026-11-24T09:00:00Z","rings":[{"ring":"canary","opened":"2026-11-24T09:00:00Z","lastKnownGood":"1.3.0"},{"ring":"chain"}]}
}}
`
	if string(got) != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Error("not valid JSON")
	}
	empty, _ := NewState().Marshal()
	if string(empty) != "{\"schema\":3,\n\"variants\":{},\n\"profiles\":{},\n\"stores\":{},\n\"rollouts\":{}}\n" {
		t.Errorf("empty state: %q", empty)
	}
}

func TestReadState(t *testing.T) {
	dir := t.TempDir()
	st, err := ReadState(dir)
	if err != nil || st.Schema != StateSchema || len(st.Stores) != 0 || st.Variants == nil {
		t.Fatalf("missing file: %+v, %v", st, err)
	}

	data, _ := testState().Marshal()
	os.MkdirAll(filepath.Join(dir, ".fleetc"), 0o755)
	os.WriteFile(filepath.Join(dir, ".fleetc", "state.json"), data, 0o644)
	st, err = ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := st.Marshal()
	if string(again) != string(data) {
		t.Errorf("round trip changed the state:\n%s\n%s", again, data)
	}
	if n, ok := st.Variants["pos@1.4.0-0123456789"].Values["big"].(json.Number); !ok || n != "12345678901234567890" {
		t.Errorf("big number decoded as %#v", st.Variants["pos@1.4.0-0123456789"].Values["big"])
	}

	for name, content := range map[string]string{
		"corrupt":         `{"schema":1,"stores":`,
		"wrong schema":    `{"schema":4}`,
		"unknown profile": `{"schema":2,"variants":{},"profiles":{},"stores":{"s":"p"}}`,
		"unknown variant": `{"schema":1,"variants":{},"stores":{"s":{"ring":"r","apps":{"a":"a@1.0.0-x"}}}}`,
		"trailing":        `{"schema":1} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, ".fleetc", "state.json"), []byte(content), 0o644)
			_, err := ReadState(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ".fleetc", "state.json")) {
				t.Errorf("err = %v, want an error naming the file", err)
			}
		})
	}
}

func TestSplitVariantID(t *testing.T) {
	tests := []struct {
		id, app, version, dir string
		ok                    bool
	}{
		{"pos@1.4.0-0123456789", "pos", "1.4.0", "1.4.0-0123456789", true},
		{"pos@1.4.0-rc.1-0123456789", "pos", "1.4.0-rc.1", "1.4.0-rc.1-0123456789", true},
		{"pos", "", "", "", false},
		{"@1.0.0-x", "", "", "", false},
		{"pos@1.0.0", "", "", "", false},
		{"pos@1.0.0-", "", "", "", false},
	}
	for _, tt := range tests {
		app, version, dir, ok := SplitVariantID(tt.id)
		if app != tt.app || version != tt.version || dir != tt.dir || ok != tt.ok {
			t.Errorf("SplitVariantID(%q) = %q %q %q %v", tt.id, app, version, dir, ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0},
		{"1.0.0", "1.0.1", -1},
		{"1.10.0", "1.9.0", 1},
		{"2.0.0", "10.0.0", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0-beta", 1},
		{"1.0.0+build.1", "1.0.0+build.2", 0},
		{"1.0.0", "banana", -1},
		{"apple", "banana", -1},
		{"01.0.0", "1.0.0", 1}, // leading zero: not semver
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestValidPath(t *testing.T) {
	for _, p := range []string{"a", "clusters/s-1/fleet.yaml", ".fleetc/state.json", ".gitignore"} {
		if err := ValidPath(p); err != nil {
			t.Errorf("ValidPath(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "/a", "a//b", "a/./b", "../a", "a/..", `a\b`, ".git", ".git/config", "a/"} {
		if err := ValidPath(p); err == nil {
			t.Errorf("ValidPath(%q): no error", p)
		}
	}
}

// Schema 1 files (every store line with its ring and apps) still read, and
// write back as schema 2.
func TestReadStateSchema1(t *testing.T) {
	st, err := ParseState([]byte(`{"schema":1,"variants":{"pos@1.0.0-aaaaaaaaaa":{"app":"pos","version":"1.0.0","namespace":"pos","source":{}}},
"stores":{"s1":{"ring":"r","apps":{"pos":"pos@1.0.0-aaaaaaaaaa"}},"s2":{"ring":"r","apps":{"pos":"pos@1.0.0-aaaaaaaaaa"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if st.Schema != StateSchema || st.Stores["s2"].Apps["pos"] != "pos@1.0.0-aaaaaaaaaa" || st.Stores["s1"].Profile != "" {
		t.Errorf("schema 1: %+v", st.Stores["s2"])
	}
	out, _ := st.Marshal()
	if want := "\"profiles\":{\n\"r-"; !strings.Contains(string(out), want) || !strings.Contains(string(out), "\"s2\":\"r-") {
		t.Errorf("schema 1 written back:\n%s", out)
	}
	back, err := ParseState(out)
	if err != nil || back.Stores["s1"].Profile != st.Stores["s1"].Profile || back.Stores["s1"].Profile != back.Stores["s2"].Profile {
		t.Errorf("round trip: %+v %v", back.Stores["s1"], err)
	}
}

func TestAssignProfiles(t *testing.T) {
	const a1, a2, b1 = "a@1.0.0-1111111111", "a@2.0.0-2222222222", "b@1.0.0-3333333333"
	mk := func(stores map[string][2]string) *State {
		st := NewState()
		for id, rv := range stores {
			apps := map[string]string{"a": rv[1]}
			if id == "s4" {
				apps["b"] = b1
			}
			st.Stores[id] = &StoreState{Ring: rv[0], Apps: apps}
		}
		return st
	}
	prev := mk(map[string][2]string{"s1": {"r", a1}, "s2": {"r", a1}, "s3": {"r", a1}, "s4": {"r", a1}, "s5": {"q", a1}})
	prev.AssignProfiles(nil)
	p := func(st *State, id string) string { return st.Stores[id].Profile }
	if p(prev, "s1") != p(prev, "s2") || p(prev, "s1") == p(prev, "s4") || p(prev, "s1") == p(prev, "s5") ||
		!strings.HasPrefix(p(prev, "s1"), "r-") || len(p(prev, "s1")) != len("r-")+10 || !strings.HasPrefix(p(prev, "s5"), "q-") {
		t.Fatalf("fresh names: %v %v %v %v", p(prev, "s1"), p(prev, "s2"), p(prev, "s4"), p(prev, "s5"))
	}
	// A fresh assignment depends on content only.
	again := mk(map[string][2]string{"s1": {"r", a1}, "s2": {"r", a1}, "s3": {"r", a1}, "s4": {"r", a1}, "s5": {"q", a1}})
	again.AssignProfiles(nil)
	for _, id := range []string{"s1", "s4", "s5"} {
		if p(again, id) != p(prev, id) {
			t.Errorf("%s: %s then %s", id, p(prev, id), p(again, id))
		}
	}

	// Everyone bumps a: every profile keeps its name.
	bump := mk(map[string][2]string{"s1": {"r", a2}, "s2": {"r", a2}, "s3": {"r", a2}, "s4": {"r", a2}, "s5": {"q", a2}})
	bump.AssignProfiles(prev)
	for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
		if p(bump, id) != p(prev, id) {
			t.Errorf("bump: %s moved from %s to %s", id, p(prev, id), p(bump, id))
		}
	}
	// s1 is deferred: the majority keeps the name; s1's content name (the
	// one all of them had) is taken, so s1 gets another fresh one.
	split := mk(map[string][2]string{"s1": {"r", a1}, "s2": {"r", a2}, "s3": {"r", a2}, "s4": {"r", a2}, "s5": {"r", a2}})
	split.AssignProfiles(prev)
	if p(split, "s2") != p(prev, "s2") || p(split, "s3") != p(prev, "s3") {
		t.Errorf("split: majority lost its name: %s", p(split, "s2"))
	}
	if p(split, "s1") == p(split, "s2") || p(split, "s1") == "" || p(split, "s4") != p(prev, "s4") {
		t.Errorf("split: s1 %s s2 %s s4 %s", p(split, "s1"), p(split, "s2"), p(split, "s4"))
	}
	// s5 moved ring q -> r: it joins the r profile, never keeps a q name.
	if p(split, "s5") != p(split, "s2") {
		t.Errorf("s5 %s, want %s", p(split, "s5"), p(split, "s2"))
	}
}

func TestReadTail(t *testing.T) {
	for _, extra := range []bool{false, true} {
		t.Run(fmt.Sprintf("unheld and halts %v", extra), func(t *testing.T) { testReadTail(t, extra) })
	}
}

// testReadTail: with extra, the state also has the optional sections
// after rollouts (unheld marks, halts); reading the rollouts alone failed
// on them before, and ReadTail reads the halts too.
func testReadTail(t *testing.T, extra bool) {
	dir := t.TempDir()
	st := testState()
	if extra {
		for _, ss := range st.Stores {
			for _, vid := range ss.Apps {
				ss.Hold = &Hold{Unheld: []string{vid}}
				break
			}
			break
		}
		st.Halts = map[string]*HaltRecord{"h": {Apps: []string{"pos"}, Reason: "r", Ticket: "T", By: "me", Since: "2026-11-24T01:00:00Z"}}
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".fleetc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StatePath), b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, halts, err := ReadTail(dir)
	if err != nil {
		t.Fatal(err)
	}
	full, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	w, _ := json.Marshal(full.Rollouts)
	if string(a) != string(w) || len(got) != 1 || got["pos"].Rings[0].LastKnownGood != "1.3.0" {
		t.Errorf("ReadTail's rollouts = %s, ReadState's = %s", a, w)
	}
	if m, h, err := ReadTail(t.TempDir()); err != nil || m != nil || h != nil {
		t.Errorf("no state: %v %v %v", m, h, err)
	}
	if a, w := fmt.Sprint(halts["h"]), fmt.Sprint(full.Halts["h"]); len(halts) != len(st.Halts) || a != w {
		t.Errorf("ReadTail's halts = %v, ReadState's = %v", halts, full.Halts)
	}
}

// Unheld marks survive a write and a read, appear only when set, and a
// mark naming an unknown store or variant is an error.
func TestStateUnheld(t *testing.T) {
	st := NewState()
	st.Variants["pos@1.1.0-f0cafff82f"] = &Variant{App: "pos", Version: "1.1.0"}
	apps := map[string]string{"pos": "pos@1.1.0-f0cafff82f"}
	st.Stores["chi-1"] = &StoreState{Ring: "main", Apps: apps, Hold: &Hold{Unheld: []string{"pos@1.1.0-f0cafff82f"}}}
	st.Stores["la-1"] = &StoreState{Ring: "main", Apps: apps}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\n\"unheld\":{\n\"chi-1\":[\"pos@1.1.0-f0cafff82f\"]") {
		t.Fatalf("no unheld section:\n%s", b)
	}
	back, err := ParseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if h := back.Stores["chi-1"].Hold; h == nil || len(h.Unheld) != 1 || h.Unheld[0] != "pos@1.1.0-f0cafff82f" || back.Stores["la-1"].Hold != nil {
		t.Errorf("read back: chi-1 %+v, la-1 %+v", h, back.Stores["la-1"].Hold)
	}
	st.Stores["chi-1"].Hold = nil
	if b, _ := st.Marshal(); strings.Contains(string(b), "unheld") {
		t.Errorf("unheld written with no marks:\n%s", b)
	}
	for _, bad := range []string{`"nowhere-1":["pos@1.1.0-f0cafff82f"]`, `"chi-1":["pos@9.9.9-0000000000"]`} {
		data := strings.TrimSuffix(string(b), "}\n") + ",\n\"unheld\":{" + bad + "}}\n"
		if _, err := ParseState([]byte(data)); err == nil || !strings.Contains(err.Error(), "unheld") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
