package window

import "strings"

// The contract between what fleetc renders and what the store's
// fleetc-agent reads when the fleet sets settings.agent.enforceWindows
// (docs/agent.md, "Window enforcement"): one definition for both sides.
const (
	// GateName is the store's window gate, a Flux Kustomization in
	// flux-system that every app Kustomization depends on; GatePath is
	// the empty directory it applies.
	GateName = "fleetc-window"
	GatePath = "platform/window"
	// Variables of the store's fleetc-store ConfigMap: the window as Text,
	// the freezes on every app ("start/end" RFC 3339 pairs, comma
	// separated) and the changes let through outside the window
	// ("app@<variant label>", comma separated).
	VarWindow  = "FLEETC_WINDOW_RAW"
	VarFreezes = "FLEETC_FREEZES_RAW"
	VarUnheld  = "FLEETC_UNHELD_RAW"
)

// HeldByGate reports whether a Flux Kustomization's Ready condition
// (status, reason, message) says it waits for the window gate: Flux's
// "dependency '<namespace>/fleetc-window' revision is not up to date".
func HeldByGate(status, reason, message string) bool {
	return status == "False" && reason == "DependencyNotReady" && strings.Contains(message, "/"+GateName+"'")
}
