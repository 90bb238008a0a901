package fleetc.window_test

import data.fleetc.window

closed := {"open": false, "opens_at": "2026-06-11T03:30:00Z", "closes_at": "2026-06-11T10:00:00Z", "source": "hours", "zone": "America/Chicago"}

open := object.union(closed, {"open": true})

upgrade := {"from": "1.0.0", "to": "1.1.0", "kind": "upgrade"}

test_outside_window_defers_until_it_opens if {
	got := window.defer_window with input as {"change": upgrade, "window": closed, "overrides": []}
	got == {{
		"msg": "outside the store's deployment window (hours, America/Chicago); next window opens at 2026-06-11T03:30:00Z",
		"until": "2026-06-11T03:30:00Z",
	}}
}

test_inside_window_allows if {
	count(window.defer_window) == 0 with input as {"change": upgrade, "window": open, "overrides": []}
}

test_no_change_is_never_deferred if {
	change := {"from": "1.0.0", "to": "1.0.0", "kind": "none"}
	count(window.defer_window) == 0 with input as {"change": change, "window": closed, "overrides": []}
}

test_store_without_window_defers_without_until if {
	w := object.union(closed, {"opens_at": "", "closes_at": ""})
	got := window.defer_window with input as {"change": upgrade, "window": w, "overrides": []}
	count(got) == 1
	some msg in got
	is_string(msg)
	contains(msg, "no deployment window")
}

test_window_override_needs_ops_leads if {
	o := {"id": "hotfix-42", "kind": "window", "reason": "pos outage", "ticket": "OPS-42"}
	inp := {"change": upgrade, "window": closed, "overrides": [o]}
	count(window.defer_window) == 0 with input as inp
	got := window.signoff_window_override with input as inp
	got == {{"msg": "override hotfix-42 lets changes through outside the deployment window", "teams": ["ops"]}}
}

test_window_override_unused_inside_window if {
	o := {"id": "hotfix-42", "kind": "window", "reason": "pos outage", "ticket": "OPS-42"}
	count(window.signoff_window_override) == 0 with input as {"change": upgrade, "window": open, "overrides": [o]}
}

test_freeze_override_does_not_open_window if {
	o := {"id": "x", "kind": "freeze", "freeze": "thanksgiving", "reason": "r", "ticket": "t"}
	count(window.defer_window) == 1 with input as {"change": upgrade, "window": closed, "overrides": [o]}
}
