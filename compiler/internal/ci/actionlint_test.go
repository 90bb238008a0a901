package ci

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// lint runs actionlint over one workflow with its own checks only:
// shellcheck and pyflakes are external programs this machine does not
// have, so they are off (an empty executable name disables them).
func lint(t testing.TB, root, rel string, src []byte) []string {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: "",
		Pyflakes:   "",
		WorkingDir: root,
	})
	if err != nil {
		t.Fatal(err)
	}
	var errs []*actionlint.Error
	if src == nil {
		errs, err = l.LintFile(filepath.Join(root, filepath.FromSlash(rel)), nil)
	} else {
		errs, err = l.Lint(rel, src, nil)
	}
	if err != nil {
		t.Fatalf("actionlint %s: %v", rel, err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s]", rel, e.Line, e.Column, e.Message, e.Kind))
	}
	return out
}

// TestActionlint lints every workflow, reporting file:line:col for each
// finding.
func TestActionlint(t *testing.T) {
	root := repoRoot(t)
	for _, rel := range workflowFiles(t) {
		t.Run(rel, func(t *testing.T) {
			if errs := lint(t, root, rel, nil); len(errs) > 0 {
				t.Errorf("actionlint found %d problems:\n%s", len(errs), strings.Join(errs, "\n"))
			}
		})
	}
}

// TestActionlintCatches: the linter as configured here does report
// mistakes, with their positions (so a clean TestActionlint means
// something).
func TestActionlintCatches(t *testing.T) {
	src := []byte(`on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: reed
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-deepth: 1
      - run: echo "${{ github.event.pull_request.title }}"
`)
	errs := lint(t, repoRoot(t), "bad.yml", src)
	want := []string{
		`bad.yml:6:17: "reed" is invalid as permission of scope "contents". available values are "read", "write", "none" [permissions]`,
		`bad.yml:10:11: input "fetch-deepth" is not defined in action "actions/checkout@v4". available inputs are`,
		`bad.yml:11:24: "github.event.pull_request.title" is potentially untrusted.`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(errs), len(want), strings.Join(errs, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(errs[i], want[i]) {
			t.Errorf("finding %d:\ngot  %s\nwant %s…", i, errs[i], want[i])
		}
	}
}
