# Calendar freezes. fleetc passes the freezes whose scope covers the store
# and app (input.freezes, each with its active flag computed in the
# store's zone) and the overrides whose scope covers them (input.overrides).
# An active freeze defers every change until it ends; an override for that
# freeze lets the change through once the freeze's sign-off teams approve.
package fleetc.freeze

changing if input.change.kind != "none"

overridden(freeze) if {
	some o in input.overrides
	o.kind == "freeze"
	o.freeze == freeze.name
}

defer_freeze contains {"msg": msg, "until": f.end} if {
	changing
	some f in input.freezes
	f.active
	not overridden(f)
	msg := sprintf("freeze %s is in force until %s", [f.name, f.end])
}

signoff_freeze_override contains {"msg": msg, "teams": f.signoff} if {
	changing
	some f in input.freezes
	f.active
	overridden(f)
	count(f.signoff) > 0
	ids := [o.id | some o in input.overrides; o.kind == "freeze"; o.freeze == f.name]
	msg := sprintf("override %s lets changes through freeze %s", [concat(", ", ids), f.name])
}

warn_freeze_override_without_signoff contains msg if {
	changing
	some f in input.freezes
	f.active
	overridden(f)
	count(f.signoff) == 0
	msg := sprintf("freeze %s is overridden and names no sign-off teams", [f.name])
}
