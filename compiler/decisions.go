package compiler

import (
	"fmt"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// addDecisions writes the recorded decisions into the tree, a JSON line
// per group of stores whose decisions are otherwise equal (the format is
// gate.AppendJSONL's): a first compile at fleet scale records a million
// decisions but only a few thousand distinct ones.
func addDecisions(t *deploy.Tree, ds []gate.Decision) error {
	t.Files[deploy.DecisionsPath] = gate.AppendJSONL(nil, ds)
	return nil
}

// readApprovals reads the approvals file, if any, and maps the users of
// the approvals given on commit to teams.
func readApprovals(path, commit string, f *model.Fleet) (policy.ApprovalSet, diag.List, error) {
	if path == "" {
		return policy.ApprovalSet{}, nil, nil
	}
	if !policy.ValidCommit(commit) {
		return policy.ApprovalSet{}, nil, fmt.Errorf("approvals %s: the commit being compiled is %q, not a full commit id; approvals count only on the commit they were given on", path, commit)
	}
	a, err := policy.ReadApprovals(path)
	if err != nil {
		return policy.ApprovalSet{}, nil, err
	}
	set, diags := a.Resolve(f.Teams, commit)
	return set, diags, nil
}
