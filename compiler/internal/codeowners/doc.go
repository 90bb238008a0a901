// Package codeowners renders the monorepo's GitHub CODEOWNERS file from
// the teams declared in CUE: every path a team owns (teams.<name>.owns)
// becomes one line naming the team's members, so a pull request that
// touches the inventory, the calendar or a legal policy asks the right
// people for review. The file is generated, never edited by hand; CI runs
// `fleetc codeowners --check` and fails when it is stale.
//
// Lines are sorted by path. A directory therefore comes before the paths
// inside it, and under GitHub's rule that the last matching line wins,
// the most specific owner decides: a team that owns
// inventory/groups/franchisees.cue owns it alone, though another team
// owns inventory/.
package codeowners
