package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	return st
}

func TestStateMarshal(t *testing.T) {
	got, err := testState().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":1,
"variants":{
"menu@2.0.0-abcdefabcd":{"app":"menu","version":"2.0.0","namespace":"menu","source":{"kustomize":{"url":"https://git.example/menu.git","path":"./deploy"}},"dependsOn":["pos"]},
"pos@1.4.0-0123456789":{"app":"pos","version":"1.4.0","namespace":"pos","source":{"helm":{"repository":"https://charts.example","chart":"pos"}},"values":{"big":12345678901234567890,"ratio":1.50,"replicas":2}}
},
"stores":{
"a-1":{"ring":"canary","apps":{"menu":"menu@2.0.0-abcdefabcd","pos":"pos@1.4.0-0123456789"}},
"b-2":{"ring":"chain","apps":{"pos":"pos@1.4.0-0123456789"}}
}}
`
	if string(got) != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Error("not valid JSON")
	}
	empty, _ := NewState().Marshal()
	if string(empty) != "{\"schema\":1,\n\"variants\":{},\n\"stores\":{}}\n" {
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
		"wrong schema":    `{"schema":2}`,
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
