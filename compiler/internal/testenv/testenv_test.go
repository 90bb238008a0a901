package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSkipRecords(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skipped")
	t.Setenv(SkippedFileEnv, file)
	t.Run("skipped", func(t *testing.T) {
		Skip(t, "Gitea forge tests", "scripts/gitea.sh", "no Gitea binary")
		t.Error("Skip returned")
	})
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "Gitea forge tests\tscripts/gitea.sh\tno Gitea binary\n"; got != want {
		t.Errorf("recorded %q, want %q", got, want)
	}
}
