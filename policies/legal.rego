# Legal constraints. A deny means the app must not run on the store: fleetc
# renders its removal, also when the store already runs it. Deny outranks
# defer, so these removals are never held by a window or a freeze.
package fleetc.legal

# Apps that collect biometric identifiers (face geometry, voice, plates
# linked to people). Legal owns this list; app teams cannot opt out of it.
biometric_apps := {"drive-thru-vision"}

# Apps that show menus or prices to customers.
menu_board_apps := {"menu-boards"}

# The app runs on the store after the change (anything but a removal).
runs_after if input.change.to != ""

# Illinois Biometric Information Privacy Act (740 ILCS 14).
deny_bipa contains msg if {
	runs_after
	input.store.jurisdiction.country == "US"
	input.store.jurisdiction.region == "IL"
	input.app.id in biometric_apps
	msg := sprintf("%s collects biometric identifiers and may not run in Illinois (BIPA, 740 ILCS 14)", [input.app.id])
}

# Quebec Charter of the French Language: customer-facing menus in French.
deny_quebec_french contains msg if {
	runs_after
	input.store.jurisdiction.country == "CA"
	input.store.jurisdiction.region == "QC"
	input.app.id in menu_board_apps
	not french
	msg := sprintf("%s must show French in Quebec (Charter of the French Language): set values.language to \"fr\" or add \"fr\" to values.languages", [input.app.id])
}

french if {
	is_string(input.values.language)
	startswith(input.values.language, "fr")
}

french if {
	some lang in input.values.languages
	is_string(lang)
	startswith(lang, "fr")
}
