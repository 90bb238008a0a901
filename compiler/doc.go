// Package compiler is fleetc's orchestrator: Compile reads top to bottom like
// the data flow — load the fleet from CUE, target apps to stores, gate every
// change through the Rego policies, assemble the desired state, render Flux
// manifests, check them, and write the deploy tree atomically.
//
// The compiler is a pure function of its inputs: the monorepo at Root, the
// previous state in Out/.fleetc/state.json, Now and the approvals file. The
// same inputs give byte-identical output.
package compiler
