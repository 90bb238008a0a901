package codeowners

import (
	"fmt"
	"strings"
)

// Pattern turns an owned path, relative to the repository root with
// forward slashes ("inventory/", "fleet.cue", "policies/**/*.rego"), into
// a root-anchored CODEOWNERS pattern ("/inventory/"). A trailing slash,
// meaning "this directory", is kept. Paths that CODEOWNERS cannot express
// or that leave the repository are errors.
func Pattern(p string) (string, error) {
	orig := p
	p = strings.TrimPrefix(p, "./")
	p = strings.TrimPrefix(p, "/")
	switch {
	case strings.TrimSpace(orig) == "" || p == "":
		return "", fmt.Errorf("owned path %q is empty or the whole repository; name a file or directory", orig)
	case strings.ContainsAny(p, " \t\r\n\\"):
		return "", fmt.Errorf("owned path %q has whitespace or a backslash, which CODEOWNERS cannot express", orig)
	case strings.ContainsAny(p, "[]"):
		return "", fmt.Errorf("owned path %q uses [ ], which CODEOWNERS does not support", orig)
	case p[0] == '!' || p[0] == '#':
		return "", fmt.Errorf("owned path %q starts with %c, which CODEOWNERS reads as negation or a comment", orig, p[0])
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		switch seg {
		case "":
			return "", fmt.Errorf("owned path %q has an empty segment", orig)
		case ".", "..":
			return "", fmt.Errorf("owned path %q has a %q segment; write it relative to the repository root", orig, seg)
		}
	}
	return "/" + p, nil
}

// Owner turns a team member into a CODEOWNERS owner: "mkowalski" →
// "@mkowalski", "acme/platform" (a forge team) → "@acme/platform"; an
// e-mail address ("ops@example.com") is kept.
func Owner(m string) (string, error) {
	switch {
	case m == "" || strings.ContainsAny(m, " \t\r\n#"):
		return "", fmt.Errorf("member %q is not a forge user, org/team or e-mail address", m)
	case strings.Contains(m, "@") && !strings.HasPrefix(m, "@"):
		return m, nil // e-mail
	}
	name := strings.TrimPrefix(m, "@")
	if name == "" || strings.Contains(name, "@") || strings.Count(name, "/") > 1 ||
		strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return "", fmt.Errorf("member %q is not a forge user, org/team or e-mail address", m)
	}
	return "@" + name, nil
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?") }
