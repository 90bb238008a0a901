// Command fleetc compiles a fleet described in CUE and Rego into per-store
// Flux manifests. See README.md and `fleetc --help`.
package main

import (
	"os"

	"github.com/fleetc/fleetc/compiler/internal/cli"
)

func main() { os.Exit(cli.Main()) }
