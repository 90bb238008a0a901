package ci

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// workflowFiles lists every workflow this repository carries, relative to
// the root: its own and the templates for the deploy repository.
func workflowFiles(t testing.TB) []string {
	t.Helper()
	root := repoRoot(t)
	var files []string
	for _, pat := range []string{".github/workflows/*.yml", ".github/workflows/*.yaml", "docs/workflows/*.yml", "docs/workflows/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pat)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(root, f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	slices.Sort(files)
	for _, want := range []string{".github/workflows/pr.yml", ".github/workflows/publish.yml", "docs/workflows/signoff.yml"} {
		if !slices.Contains(files, want) {
			t.Fatalf("workflow %s is missing (found %v)", want, files)
		}
	}
	return files
}

// workflow is the part of a GitHub Actions workflow the invariants read.
type workflow struct {
	Name        string               `yaml:"name"`
	On          map[string]yaml.Node `yaml:"on"`
	Permissions *yaml.Node           `yaml:"-"` // filled by decodePermissions
	Concurrency *concurrency         `yaml:"concurrency"`
	Jobs        map[string]job       `yaml:"jobs"`
}

type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress bool   `yaml:"cancel-in-progress"`
}

type job struct {
	If    string `yaml:"if"`
	Steps []step `yaml:"steps"`
	// Perms is permissions as a map; permissionsScalar is set instead
	// when it is written as read-all or write-all. Filled by readWorkflow.
	Perms             yaml.Node         `yaml:"permissions"`
	Permissions       map[string]string `yaml:"-"`
	permissionsScalar string
}

type step struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// decodePermissions sets the workflow's permissions node from the
// document (decoding an empty mapping into a *yaml.Node field gives a zero
// node, so it is looked up by hand) and fills each job's Permissions or
// permissionsScalar from Perms.
func (w *workflow) decodePermissions(src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		top := doc.Content[0].Content
		for i := 0; i+1 < len(top); i += 2 {
			if top[i].Value == "permissions" {
				w.Permissions = top[i+1]
			}
		}
	}
	for name, j := range w.Jobs {
		switch j.Perms.Kind {
		case yaml.MappingNode:
			if err := j.Perms.Decode(&j.Permissions); err != nil {
				return err
			}
		case yaml.ScalarNode:
			j.permissionsScalar = j.Perms.Value
		}
		w.Jobs[name] = j
	}
	return nil
}

func readWorkflow(t testing.TB, rel string) (*workflow, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(src, &w); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if err := w.decodePermissions(src); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return &w, src
}
