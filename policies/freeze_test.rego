package fleetc.freeze_test

import data.fleetc.freeze

thanksgiving := {
	"name": "thanksgiving",
	"active": true,
	"start": "2026-11-26T06:00:00Z",
	"end": "2026-11-27T06:00:00Z",
	"local": true,
	"signoff": ["ops-leads"],
}

upgrade := {"from": "1.0.0", "to": "1.1.0", "kind": "upgrade"}

override := {"id": "black-friday-fix", "kind": "freeze", "freeze": "thanksgiving", "reason": "fix", "ticket": "OPS-1"}

test_active_freeze_defers_until_its_end if {
	got := freeze.defer_freeze with input as {"change": upgrade, "freezes": [thanksgiving], "overrides": []}
	got == {{"msg": "freeze thanksgiving is in force until 2026-11-27T06:00:00Z", "until": "2026-11-27T06:00:00Z"}}
}

test_inactive_freeze_does_not_defer if {
	f := object.union(thanksgiving, {"active": false})
	count(freeze.defer_freeze) == 0 with input as {"change": upgrade, "freezes": [f], "overrides": []}
}

test_no_change_is_not_deferred if {
	change := {"from": "1.0.0", "to": "1.0.0", "kind": "none"}
	count(freeze.defer_freeze) == 0 with input as {"change": change, "freezes": [thanksgiving], "overrides": []}
}

test_removal_is_deferred_too if {
	change := {"from": "1.0.0", "to": "", "kind": "remove"}
	count(freeze.defer_freeze) == 1 with input as {"change": change, "freezes": [thanksgiving], "overrides": []}
}

test_override_replaces_defer_with_signoff if {
	inp := {"change": upgrade, "freezes": [thanksgiving], "overrides": [override]}
	count(freeze.defer_freeze) == 0 with input as inp
	got := freeze.signoff_freeze_override with input as inp
	got == {{"msg": "override black-friday-fix lets changes through freeze thanksgiving", "teams": ["ops-leads"]}}
}

test_override_for_another_freeze_does_not_count if {
	other := object.union(override, {"freeze": "holidays"})
	inp := {"change": upgrade, "freezes": [thanksgiving], "overrides": [other]}
	count(freeze.defer_freeze) == 1 with input as inp
	count(freeze.signoff_freeze_override) == 0 with input as inp
}

test_window_override_does_not_lift_freeze if {
	other := object.union(override, {"kind": "window"})
	count(freeze.defer_freeze) == 1 with input as {"change": upgrade, "freezes": [thanksgiving], "overrides": [other]}
}

test_override_of_freeze_without_teams_warns if {
	f := object.union(thanksgiving, {"signoff": []})
	inp := {"change": upgrade, "freezes": [f], "overrides": [override]}
	count(freeze.signoff_freeze_override) == 0 with input as inp
	freeze.warn_freeze_override_without_signoff == {"freeze thanksgiving is overridden and names no sign-off teams"} with input as inp
}

test_two_freezes_defer_twice if {
	holidays := object.union(thanksgiving, {"name": "holidays", "end": "2027-01-02T00:00:00Z"})
	count(freeze.defer_freeze) == 2 with input as {"change": upgrade, "freezes": [thanksgiving, holidays], "overrides": []}
}
