package fleetc.legal_test

import data.fleetc.legal

illinois := {"jurisdiction": {"country": "US", "region": "IL", "city": "Chicago"}}

quebec := {"jurisdiction": {"country": "CA", "region": "QC", "city": "Montreal"}}

ontario := {"jurisdiction": {"country": "CA", "region": "ON"}}

install := {"from": "", "to": "1.2.0", "kind": "install"}

test_bipa_denies_install_in_illinois if {
	msgs := legal.deny_bipa with input as {"store": illinois, "app": {"id": "drive-thru-vision"}, "change": install}
	msgs == {"drive-thru-vision collects biometric identifiers and may not run in Illinois (BIPA, 740 ILCS 14)"}
}

test_bipa_denies_app_already_running if {
	change := {"from": "1.2.0", "to": "1.2.0", "kind": "none"}
	count(legal.deny_bipa) == 1 with input as {"store": illinois, "app": {"id": "drive-thru-vision"}, "change": change}
}

test_bipa_allows_removal if {
	change := {"from": "1.2.0", "to": "", "kind": "remove"}
	count(legal.deny_bipa) == 0 with input as {"store": illinois, "app": {"id": "drive-thru-vision"}, "change": change}
}

test_bipa_ignores_other_states if {
	store := {"jurisdiction": {"country": "US", "region": "WI"}}
	count(legal.deny_bipa) == 0 with input as {"store": store, "app": {"id": "drive-thru-vision"}, "change": install}
}

test_bipa_ignores_other_apps if {
	count(legal.deny_bipa) == 0 with input as {"store": illinois, "app": {"id": "menu-boards"}, "change": install}
}

test_quebec_denies_english_only_menu if {
	msgs := legal.deny_quebec_french with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": install, "values": {"language": "en"}}
	count(msgs) == 1
	some msg in msgs
	contains(msg, "must show French in Quebec")
}

test_quebec_denies_missing_values if {
	count(legal.deny_quebec_french) == 1 with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": install}
}

test_quebec_accepts_language_fr if {
	count(legal.deny_quebec_french) == 0 with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": install, "values": {"language": "fr"}}
}

test_quebec_accepts_fr_ca_in_languages if {
	values := {"languages": ["en", "fr-CA"]}
	count(legal.deny_quebec_french) == 0 with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": install, "values": values}
}

test_quebec_non_string_language_is_not_french if {
	values := {"language": 7, "languages": [1, "en"]}
	count(legal.deny_quebec_french) == 1 with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": install, "values": values}
}

test_quebec_rule_ignores_ontario if {
	count(legal.deny_quebec_french) == 0 with input as {"store": ontario, "app": {"id": "menu-boards"}, "change": install, "values": {"language": "en"}}
}

test_quebec_allows_removal if {
	change := {"from": "1.0.0", "to": "", "kind": "remove"}
	count(legal.deny_quebec_french) == 0 with input as {"store": quebec, "app": {"id": "menu-boards"}, "change": change}
}
