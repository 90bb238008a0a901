package load_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/load"
)

func ExampleLoad() {
	root, err := os.MkdirTemp("", "fleet")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	if err := os.MkdirAll(filepath.Join(root, "rings"), 0o755); err != nil {
		panic(err)
	}
	src := `rings: canary: {order: 0, signoff: ["platform"]}
rings: chain: {order: 1, bakeTime: "2 days"}
`
	if err := os.WriteFile(filepath.Join(root, "rings", "rings.cue"), []byte(src), 0o644); err != nil {
		panic(err)
	}
	fleet, diags, err := load.Load(context.Background(), load.Options{Root: root})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(fleet.Rings), "rings;", fleet.Settings.DeployRepoSource)
	_ = diag.PrintText(os.Stdout, diags)
	// Output:
	// 1 rings; flux-system
	// rings/rings.cue:1:37: rings.canary.signoff[0]: unknown team "platform"
	// rings/rings.cue:2:36: rings.chain.bakeTime: invalid value "2 days": want a duration like "90m", "1h30m" or "7d" (Go's units plus d for days)
}
