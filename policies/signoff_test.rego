package fleetc.signoff_test

import data.fleetc.signoff

chain := {"name": "chain", "order": 3, "signoff": ["release-managers", "ops-leads"]}

canary := {"name": "canary", "order": 1, "signoff": []}

upgrade := {"from": "1.0.0", "to": "1.1.0", "kind": "upgrade"}

illinois := {"jurisdiction": {"country": "US", "region": "IL"}}

seen := {"ring_has_version": true, "jurisdiction_has_app": true}

test_first_version_in_chain_needs_signoff if {
	got := signoff.signoff_ring_entry with input as {"app": {"id": "pos"}, "change": upgrade, "ring": chain, "history": {"ring_has_version": false, "jurisdiction_has_app": true}}
	got == {{"msg": "pos 1.1.0 enters ring chain for the first time", "teams": ["release-managers", "ops-leads"]}}
}

test_missing_history_counts_as_first if {
	count(signoff.signoff_ring_entry) == 1 with input as {"app": {"id": "pos"}, "change": upgrade, "ring": chain}
}

test_version_already_in_ring_needs_none if {
	count(signoff.signoff_ring_entry) == 0 with input as {"app": {"id": "pos"}, "change": upgrade, "ring": chain, "history": seen}
}

test_ring_without_teams_needs_none if {
	count(signoff.signoff_ring_entry) == 0 with input as {"app": {"id": "pos"}, "change": upgrade, "ring": canary}
}

test_reconfigure_needs_none if {
	change := {"from": "1.0.0", "to": "1.0.0", "kind": "reconfigure"}
	count(signoff.signoff_ring_entry) == 0 with input as {"app": {"id": "pos"}, "change": change, "ring": chain}
}

test_new_app_in_jurisdiction_needs_legal if {
	change := {"from": "", "to": "1.0.0", "kind": "install"}
	got := signoff.signoff_new_jurisdiction with input as {"app": {"id": "pos"}, "change": change, "store": illinois, "history": {"ring_has_version": true, "jurisdiction_has_app": false}}
	got == {{"msg": "pos is new in US-IL", "teams": ["legal"]}}
}

test_new_app_in_country_without_region if {
	change := {"from": "", "to": "1.0.0", "kind": "install"}
	got := signoff.signoff_new_jurisdiction with input as {"app": {"id": "pos"}, "change": change, "store": {"jurisdiction": {"country": "MX"}}}
	got == {{"msg": "pos is new in MX", "teams": ["legal"]}}
}

test_known_jurisdiction_needs_none if {
	change := {"from": "", "to": "1.0.0", "kind": "install"}
	count(signoff.signoff_new_jurisdiction) == 0 with input as {"app": {"id": "pos"}, "change": change, "store": illinois, "history": seen}
}

test_upgrade_in_new_jurisdiction_needs_none if {
	count(signoff.signoff_new_jurisdiction) == 0 with input as {"app": {"id": "pos"}, "change": upgrade, "store": illinois}
}
