// Package semver is the one definition of a valid version in fleetc:
// Semantic Versioning 2.0.0 (https://semver.org), without a leading v, and
// at most MaxLen bytes. The loader rejects every app version and ring pin
// that Parse rejects, at its position in the fleet file; the later stages
// (the deploy tree's release directories, the plan's ordering of upgrades
// and downgrades) rely on every version they see having passed Parse.
package semver

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// MaxLen bounds a version's length: it becomes part of a directory name
// (releases/<app>/<version>-<hash>/), which a file system limits to 255
// bytes, and of a Git or OCI tag (OCI: 128 characters).
const MaxLen = 128

// Version is a parsed version. Pre and Build are the dot-separated
// identifiers after - and + (nil when absent).
type Version struct {
	Major, Minor, Patch uint64
	Pre, Build          []string
}

// Parse reads s strictly: MAJOR.MINOR.PATCH, each a number without leading
// zeros; an optional pre-release after -, identifiers of [0-9A-Za-z-],
// none empty, numeric ones without leading zeros; optional build metadata
// after +, identifiers of [0-9A-Za-z-], none empty. The error says what is
// wrong in words a fleet author can act on.
func Parse(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, fmt.Errorf("empty version")
	}
	if len(s) > MaxLen {
		return v, fmt.Errorf("version is %d bytes long, longer than %d", len(s), MaxLen)
	}
	if s[0] == 'v' || s[0] == 'V' {
		return v, fmt.Errorf("leading %q: write the version without it, like %s", s[:1], s[1:])
	}
	rest, build, hasBuild := strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(rest, "-")
	nums := strings.Split(core, ".")
	if len(nums) != 3 {
		return v, fmt.Errorf("want MAJOR.MINOR.PATCH, three numbers separated by dots, found %d part(s) in %q", len(nums), core)
	}
	names := [3]string{"major", "minor", "patch"}
	var n [3]uint64
	for i, p := range nums {
		var err error
		if n[i], err = number(p); err != nil {
			return v, fmt.Errorf("%s version %q: %v", names[i], p, err)
		}
	}
	v.Major, v.Minor, v.Patch = n[0], n[1], n[2]
	var err error
	if hasPre {
		if v.Pre, err = identifiers(pre, true); err != nil {
			return v, fmt.Errorf("pre-release %q: %v", pre, err)
		}
	}
	if hasBuild {
		if v.Build, err = identifiers(build, false); err != nil {
			return v, fmt.Errorf("build metadata %q: %v", build, err)
		}
	}
	return v, nil
}

// Valid reports whether Parse accepts s.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

func number(p string) (uint64, error) {
	switch {
	case p == "":
		return 0, fmt.Errorf("empty")
	case !allDigits(p):
		return 0, fmt.Errorf("not a number")
	case len(p) > 1 && p[0] == '0':
		return 0, fmt.Errorf("leading zero")
	}
	n, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("too large")
	}
	return n, nil
}

// identifiers splits a pre-release or build part. Numeric pre-release
// identifiers may not have leading zeros (build identifiers may).
func identifiers(s string, pre bool) ([]string, error) {
	ids := strings.Split(s, ".")
	for i, id := range ids {
		switch {
		case id == "":
			return nil, fmt.Errorf("identifier %d is empty (two dots in a row, or a dot at an end)", i+1)
		case !identChars(id):
			return nil, fmt.Errorf("identifier %q: only letters, digits and - are allowed", id)
		case pre && allDigits(id) && len(id) > 1 && id[0] == '0':
			return nil, fmt.Errorf("numeric identifier %q has a leading zero", id)
		}
	}
	return ids, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func identChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// Compare orders a and b by SemVer precedence (build metadata ignored):
// numbers numerically, a release after its pre-releases, pre-release
// identifiers numeric ones numerically and before alphanumeric ones, which
// compare in ASCII order, and a shorter set of identifiers first when all
// before it are equal.
func Compare(a, b Version) int {
	if c := cmp.Or(cmp.Compare(a.Major, b.Major), cmp.Compare(a.Minor, b.Minor), cmp.Compare(a.Patch, b.Patch)); c != 0 {
		return c
	}
	switch {
	case len(a.Pre) == 0 && len(b.Pre) == 0:
		return 0
	case len(a.Pre) == 0:
		return 1
	case len(b.Pre) == 0:
		return -1
	}
	for i := 0; i < len(a.Pre) && i < len(b.Pre); i++ {
		if c := comparePre(a.Pre[i], b.Pre[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.Pre), len(b.Pre))
}

func comparePre(a, b string) int {
	na, nb := allDigits(a), allDigits(b)
	switch {
	case na && nb:
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c // no leading zeros: the longer number is the larger
		}
		return strings.Compare(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}
