package publish

import (
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
)

// objects reads refs and objects of the cache repository with go-git. It
// is opened after each fetch so it sees the packs the fetch added.
type objects struct{ repo *git.Repository }

func openObjects(gitDir string) (*objects, error) {
	r, err := git.PlainOpen(gitDir)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", gitDir, err)
	}
	return &objects{repo: r}, nil
}

// tree returns the tree id of a commit, "" for no commit.
func (o *objects) tree(commit string) (string, error) {
	if commit == "" {
		return "", nil
	}
	c, err := o.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", commit, err)
	}
	return c.TreeHash.String(), nil
}

// state reads .fleetc/state.json at commit; an empty state when there is
// no commit or the commit has no state (a repository fleetc never wrote).
func (o *objects) state(commit string) (*deploy.State, error) {
	if commit == "" {
		return deploy.NewState(), nil
	}
	c, err := o.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", commit, err)
	}
	f, err := c.File(deploy.StatePath)
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return deploy.NewState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", deploy.StatePath, short(commit), err)
	}
	text, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", deploy.StatePath, short(commit), err)
	}
	st, err := deploy.ParseState([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", deploy.StatePath, short(commit), err)
	}
	return st, nil
}

func short(sha string) string { return sha[:min(len(sha), 12)] }
