package deploy

import (
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/semver"
)

// CompareVersions orders semantic versions (MAJOR.MINOR.PATCH[-pre][+build])
// by semver precedence, build metadata ignored (compiler/internal/semver,
// the definition the loader validates every version with). Versions that
// are not semver (only ever read back from an old state) compare after all
// semver ones, by plain string order.
func CompareVersions(a, b string) int {
	pa, erra := semver.Parse(a)
	pb, errb := semver.Parse(b)
	switch {
	case erra == nil && errb == nil:
		return semver.Compare(pa, pb)
	case erra == nil:
		return -1
	case errb == nil:
		return 1
	}
	return strings.Compare(a, b)
}
