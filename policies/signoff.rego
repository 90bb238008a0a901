# Sign-off gates. A signoff_ rule names the teams whose approval of the
# deploy merge request lets the change through; fleetc checks the
# approvals (input.approvals.teams) and reports the teams still missing.
package fleetc.signoff

# Teams that approve an app's first arrival in a jurisdiction.
jurisdiction_teams := ["legal"]

rolls_out if input.change.kind in {"install", "upgrade", "downgrade"}

# The first time a version reaches a ring that demands sign-off (e.g. the
# chain ring). input.history.ring_has_version is true once any store of
# the ring has run this version.
signoff_ring_entry contains {"msg": msg, "teams": input.ring.signoff} if {
	rolls_out
	count(input.ring.signoff) > 0
	not input.history.ring_has_version
	msg := sprintf("%s %s enters ring %s for the first time", [input.app.id, input.change.to, input.ring.name])
}

# The first store of a jurisdiction (country and region) to get an app.
signoff_new_jurisdiction contains {"msg": msg, "teams": jurisdiction_teams} if {
	input.change.kind == "install"
	not input.history.jurisdiction_has_app
	msg := sprintf("%s is new in %s", [input.app.id, jurisdiction])
}

# "US-IL", or just the country when the store names no region. Only
# country and region are read, so stores of one region share decisions.
default region := ""

region := input.store.jurisdiction.region

jurisdiction := concat("-", [input.store.jurisdiction.country, region]) if region != ""

jurisdiction := input.store.jurisdiction.country if region == ""
