package cli

import (
	"bytes"
	"context"
	"os/exec"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// compiledCommit is the commit approvals must have been given on: --commit
// when set, else the HEAD of the git checkout at root, which must have no
// uncommitted changes (what is compiled then is not that commit). Without
// --approvals no commit is needed.
func compiledCommit(ctx context.Context, root, flag, approvals string) (string, error) {
	if flag != "" {
		if !policy.ValidCommit(flag) {
			return "", usagef("--commit %q: want a full commit id (40 or 64 hexadecimal digits)", flag)
		}
		return strings.ToLower(flag), nil
	}
	if approvals == "" {
		return "", nil
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}
	head, err := git("rev-parse", "--verify", "HEAD")
	if err != nil || !policy.ValidCommit(head) {
		return "", usagef("--approvals counts only approvals given on the commit being compiled, and %s is not a git checkout: pass --commit SHA (the commit of --root, e.g. the pull request's head)", rootName(root))
	}
	dirty, err := git("status", "--porcelain", "--", ".")
	if err != nil {
		return "", usagef("--approvals: git status in %s: %v; pass --commit SHA", rootName(root), err)
	}
	if dirty != "" {
		return "", usagef("--approvals counts only approvals given on the commit being compiled, and %s has uncommitted changes, so what is compiled is not commit %s: commit them, or pass --commit SHA", rootName(root), head)
	}
	return head, nil
}

func rootName(root string) string {
	if root == "" {
		return "."
	}
	return root
}
