// Package buildinfo names the version a fleetc binary was built at. It
// uses the standard library only: fleetc-agent imports it too.
package buildinfo

import "runtime/debug"

// Version stamps a fleetc binary (fleetc, fleetc-agent) from its build: the module version when built
// from a tagged module (go install …@v1.2.3), else "devel" with the commit
// the binary was built from (go build in a git checkout records it) and
// ".dirty" when the work tree had changes: "devel+a399e12c0b1d.dirty".
func Version(bi *debug.BuildInfo) string {
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel+" + rev[:min(12, len(rev))]
	if modified == "true" {
		v += ".dirty"
	}
	return v
}
