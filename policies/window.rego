# Deployment windows. input.window is the store's current or next window
# (from its opening hours or its group), computed by fleetc in the store's
# zone. Outside it, changes wait for it to open. A window override lets a
# change through once the operations leads sign off.
package fleetc.window

# Teams that must approve a change outside a store's window.
override_teams := ["ops"]

changing if input.change.kind != "none"

overridden if {
	some o in input.overrides
	o.kind == "window"
}

defer_window contains {"msg": msg, "until": input.window.opens_at} if {
	changing
	not input.window.open
	not overridden
	input.window.opens_at != ""
	msg := sprintf("outside the store's deployment window (%s, %s); next window opens at %s", [input.window.source, input.window.zone, input.window.opens_at])
}

defer_window contains msg if {
	changing
	not input.window.open
	not overridden
	input.window.opens_at == ""
	msg := sprintf("the store has no deployment window (%s, %s): it is open around the clock; set a group window or use a window override", [input.window.source, input.window.zone])
}

signoff_window_override contains {"msg": msg, "teams": override_teams} if {
	changing
	not input.window.open
	overridden
	ids := [o.id | some o in input.overrides; o.kind == "window"]
	msg := sprintf("override %s lets changes through outside the deployment window", [concat(", ", ids)])
}
