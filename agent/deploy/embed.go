// Package deploy holds fleetc-agent's manifests: applied by hand with
// kustomize (kustomization.yaml), or rendered by fleetc into every store
// for an app whose source is agent: (docs/agent.md, "The agent as an
// app"). Placeholders: ${FLEETC_STORE_ID} (Flux postBuild, from the
// store's fleetc-store ConfigMap), ${FLEETC_COLLECTOR_URL},
// ${FLEETC_AGENT_IMAGE}.
package deploy

import _ "embed"

// The manifests, as written in this directory.
var (
	//go:embed namespace.yaml
	Namespace []byte
	//go:embed rbac.yaml
	RBAC []byte
	//go:embed deployment.yaml
	Deployment []byte
)

// Placeholders fleetc fills at compile time; ${FLEETC_STORE_ID} is left
// for Flux.
const (
	ImagePlaceholder     = "${FLEETC_AGENT_IMAGE}"
	CollectorPlaceholder = "${FLEETC_COLLECTOR_URL}"
)
