package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
)

func TestCheck(t *testing.T) {
	const pos = "releases/pos/1.4.0-0123456789/"
	tests := []struct {
		name   string
		mutate func(tr *deploy.Tree)
		want   []string // "file:line:col code" of each diagnostic
	}{
		{"clean", func(*deploy.Tree) {}, nil},
		{"missing release path", func(tr *deploy.Tree) {
			delete(tr.Files, pos+fileKustomization)
			delete(tr.Files, pos+fileSource)
			delete(tr.Files, pos+fileRelease)
		}, []string{"profiles/canary-c908e5cfa4/apps.yaml:73:3 missing-release"}},
		{"missing profile", func(tr *deploy.Tree) {
			delete(tr.Files, "profiles/chain-5d48f340b6/kustomization.yaml")
			delete(tr.Files, "profiles/chain-5d48f340b6/apps.yaml")
		}, []string{"clusters/nyc-0002/kustomization.yaml:6:3 missing-profile"}},
		{"store ConfigMap lost", func(tr *deploy.Tree) {
			p := "clusters/nyc-0001/kustomization.yaml"
			tr.Files[p] = bytes.Replace(tr.Files[p], []byte("name: fleetc-store"), []byte("name: other"), 1)
		}, []string{"clusters/nyc-0001/kustomization.yaml store-config"}},
		{"kustomization lists a missing file", func(tr *deploy.Tree) {
			delete(tr.Files, pos+fileSource)
		}, []string{pos + "kustomization.yaml kustomize-build"}},
		{"release file is not yaml", func(tr *deploy.Tree) {
			tr.Files[pos+fileRelease] = []byte("kind: [unclosed\n")
		}, []string{pos + "kustomization.yaml kustomize-build"}},
		{"unused release", func(tr *deploy.Tree) {
			tr.Files["releases/old/1.0.0-0000000000/kustomization.yaml"] = []byte("resources: []\n")
		}, []string{"releases/old/1.0.0-0000000000/kustomization.yaml warning unused-release"}},
		{"sample store does not build", func(tr *deploy.Tree) {
			tr.Files["clusters/nyc-0001/kustomization.yaml"] = append(tr.Files["clusters/nyc-0001/kustomization.yaml"], "- ../../profiles/canary-c908e5cfa4\n"...)
		}, []string{"clusters/nyc-0001/kustomization.yaml kustomize-build"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := renderSmall(t)
			tt.mutate(tr)
			got := Check(tr)
			if fmt.Sprint(summarise(got)) != fmt.Sprint(tt.want) {
				t.Errorf("Check:\n%v\nwant %v\nfull: %v", summarise(got), tt.want, got)
			}
		})
	}
}

func summarise(l diag.List) []string {
	var out []string
	for _, d := range l {
		s := d.Pos.String() + " "
		if d.Severity != diag.Error {
			s += string(d.Severity) + " "
		}
		out = append(out, s+d.Code)
	}
	return out
}

func TestKustomizationPaths(t *testing.T) {
	tr := renderSmall(t)
	refs := kustomizationPaths(tr.Files["profiles/canary-c908e5cfa4/apps.yaml"])
	var got []string
	for _, r := range refs {
		got = append(got, fmt.Sprintf("%d %s", r.line, r.path))
	}
	want := "[21 ./releases/grill/0.9.0-fedcba9876 48 ./releases/menu/2.0.1-abcdefabcd 73 ./releases/pos/1.4.0-0123456789]"
	if fmt.Sprint(got) != want {
		t.Errorf("paths %v, want %s", got, want)
	}
	lines := strings.Split(string(tr.Files["profiles/canary-c908e5cfa4/apps.yaml"]), "\n")
	if lines[72] != "  path: ./releases/pos/1.4.0-0123456789" {
		t.Errorf("line 73 is %q", lines[72])
	}
	quoted := kustomizationPaths([]byte("---\nspec:\n  path: \"./a b#\"\n---\nspec:\n  interval: 1m\n"))
	if len(quoted) != 2 || quoted[0].path != "./a b#" || quoted[1].path != "" {
		t.Errorf("quoted/missing paths: %+v", quoted)
	}
}

func TestCheckLarge(t *testing.T) {
	tr, err := Render(context.Background(), syntheticState(500, 8, 24), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := Check(tr); len(d) != 0 {
		t.Errorf("Check on a rendered tree: %v", d)
	}
}
