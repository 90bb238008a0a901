// Package signoff is fleetc's sign-off gate on the deploy merge request.
//
// A compile with --signoff propose renders changes that need sign-off and
// records its decisions in .fleetc/decisions.jsonl; a needs-signoff
// decision lists the teams whose sign-off it still misses. The gate reads
// those decisions at the merge request's head commit, reads the latest
// review per user from the forge, maps users to teams from the fleet, and
// counts a team as signed off when one of its members approved exactly the
// head commit. It posts two summary statuses on the head — fleetc/policy
// and fleetc/signoff — and, when asked, merges once every fleetc status is
// green, naming the head SHA so that a newer push wins.
package signoff
