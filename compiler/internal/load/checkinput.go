package load

import (
	"fmt"
	"net/url"
	"strings"

	"cuelang.org/go/cue/ast"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/semver"
)

// Codes of the input checks below.
const (
	codeVersion   = "version"    // not SemVer 2.0.0 (compiler/internal/semver)
	codeSource    = "app-source" // as in checkFile
	codeInvalidID = "invalid-id"
)

// checkInput holds the decoded entities of a file to the rules later
// stages rely on, whatever the schema in schemas/ says (a repository may
// bring its own): ids that are directory names, versions that are SemVer
// 2.0.0 (one definition, compiler/internal/semver, which the deploy stage
// orders versions with), sources that name a chart or a path inside the
// source and absolute URLs without ".." segments, and values within
// MaxValuesBytes and MaxDepth.
func (r *fileResult) checkInput(f *ast.File) {
	at := func(fallback diag.Pos, path []seg) diag.Pos {
		if p, ok := findValue(f, path); ok {
			return toPos(p)
		}
		if p, ok := findPos(f, path); ok {
			return toPos(p)
		}
		return fallback
	}
	report := func(fallback diag.Pos, path []seg, code, format string, args ...any) {
		r.Diags.Errorf(at(fallback, path), formatPath(path), code, format, args...)
	}
	id := func(fallback diag.Pos, kind, name string, path []seg) {
		if err := checkID(name); err != nil {
			report(fallback, path, codeInvalidID, "%s %q: %v", kind, name, err)
		}
	}
	for _, s := range r.Stores {
		base := []seg{field("stores"), field(s.ID)}
		id(s.Pos, "store id", s.ID, append(base, field("id")))
		if len(s.Name) > MaxStringBytes {
			report(s.Pos, append(base, field("name")), codeTooLarge, "name of %s, over the limit of %s", byteSize(int64(len(s.Name))), byteSize(MaxStringBytes))
		}
		for app, v := range s.Values {
			r.checkValues(s.Pos, append(base, field("values"), field(app)), v, at)
		}
	}
	for _, g := range r.Groups {
		id(g.Pos, "group name", g.Name, []seg{field("groups"), field(g.Name), field("name")})
	}
	for _, rg := range r.Rings {
		id(rg.Pos, "ring name", rg.Name, []seg{field("rings"), field(rg.Name), field("name")})
	}
	for _, fr := range r.Freezes {
		id(fr.Pos, "freeze name", fr.Name, []seg{field("freezes"), field(fr.Name), field("name")})
	}
	for _, o := range r.Overrides {
		id(o.Pos, "override id", o.ID, []seg{field("overrides"), field(o.ID), field("id")})
	}
	for _, h := range r.Halts {
		id(h.Pos, "halt id", h.ID, []seg{field("halts"), field(h.ID), field("id")})
	}
	for _, t := range r.Teams {
		id(t.Pos, "team name", t.Name, []seg{field("teams"), field(t.Name), field("name")})
	}
	for _, a := range r.Apps {
		base := []seg{field("apps"), field(a.ID)}
		sub := func(names ...string) []seg {
			p := append([]seg(nil), base...)
			for _, n := range names {
				p = append(p, field(n))
			}
			return p
		}
		id(a.Pos, "app id", a.ID, sub("id"))
		id(a.Pos, "namespace", a.Namespace, sub("namespace"))
		if _, err := semver.Parse(a.Version); err != nil {
			report(a.Pos, sub("version"), codeVersion, "invalid version %q: %v (SemVer 2.0.0, e.g. 1.2.3 or 1.2.3-rc.1)", a.Version, err)
		}
		for ring, v := range a.Versions {
			if _, err := semver.Parse(v); err != nil {
				report(a.Pos, sub("versions", ring), codeVersion, "invalid version %q: %v (SemVer 2.0.0, e.g. 1.2.3 or 1.2.3-rc.1)", v, err)
			}
		}
		src := a.Source
		if h := src.Helm; h != nil {
			if err := checkURL(h.Repository, "https", "http", "oci"); err != nil {
				report(a.Pos, sub("source", "helm", "repository"), codeSource, "repository %q: %v", h.Repository, err)
			}
			if err := checkChart(h.Chart); err != nil {
				report(a.Pos, sub("source", "helm", "chart"), codeSource, "chart %q: %v", h.Chart, err)
			}
		}
		if k := src.Kustomize; k != nil {
			if err := checkURL(k.URL, "https", "http", "ssh", "oci"); err != nil {
				report(a.Pos, sub("source", "kustomize", "url"), codeSource, "url %q: %v", k.URL, err)
			}
			if err := checkRelPath(k.Path); err != nil {
				report(a.Pos, sub("source", "kustomize", "path"), codeSource, "path %q: %v", k.Path, err)
			}
			if err := checkTagPrefix(k.TagPrefix, strings.HasPrefix(k.URL, "oci://")); err != nil {
				report(a.Pos, sub("source", "kustomize", "tagPrefix"), codeSource, "tagPrefix %q: %v", k.TagPrefix, err)
			}
		}
		if ag := src.Agent; ag != nil {
			if err := checkURL(ag.Collector, "https", "http"); err != nil {
				report(a.Pos, sub("source", "agent", "collector"), codeSource, "collector %q: %v", ag.Collector, err)
			}
			if err := checkImage(ag.Image); err != nil {
				report(a.Pos, sub("source", "agent", "image"), codeSource, "image %q: %v", ag.Image, err)
			}
		}
		if a.Health != nil && a.Health.HTTP != nil {
			id(a.Pos, "health service", a.Health.HTTP.Service, sub("health", "http", "service"))
		}
		r.checkValues(a.Pos, sub("values"), a.Values, at)
		for i, o := range a.Overrides {
			r.checkValues(o.Pos, append(sub("overrides"), index(i), field("values")), o.Values, at)
		}
	}
}

// checkValues reports values nested deeper than MaxDepth (counted from
// the top of the file) or larger than MaxValuesBytes or with a string
// over MaxStringBytes, at the values' position.
func (r *fileResult) checkValues(fallback diag.Pos, path []seg, v map[string]any, at func(diag.Pos, []seg) diag.Pos) {
	if len(v) == 0 {
		return
	}
	var m measure
	m.walk(v, len(path))
	switch {
	case m.tooDeep:
		r.Diags.Errorf(at(fallback, path), formatPath(path), codeTooDeep,
			"values nested deeper than %d levels: flatten them", MaxDepth)
	case m.longString > 0:
		r.Diags.Errorf(at(fallback, path), formatPath(path), codeTooLarge,
			"values hold a string of %s, over the limit of %s for one string", byteSize(int64(m.longString)), byteSize(MaxStringBytes))
	case m.size > MaxValuesBytes:
		r.Diags.Errorf(at(fallback, path), formatPath(path), codeTooLarge,
			"values of over %s, over the limit of %s: Flux could not apply them; keep large content in the chart or a ConfigMap of the app", byteSize(int64(m.size)), byteSize(MaxValuesBytes))
	}
}

// measure walks decoded values, stopping as soon as a limit is crossed.
type measure struct {
	size       int
	longString int
	tooDeep    bool
}

func (m *measure) over() bool { return m.tooDeep || m.longString > 0 || m.size > MaxValuesBytes }

func (m *measure) walk(v any, depth int) {
	if m.over() {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if depth++; depth > MaxDepth {
			m.tooDeep = true
			return
		}
		for k, e := range x {
			m.size += len(k) + 4
			m.walk(e, depth)
			if m.over() {
				return
			}
		}
	case []any:
		if depth++; depth > MaxDepth {
			m.tooDeep = true
			return
		}
		for _, e := range x {
			m.size++
			m.walk(e, depth)
			if m.over() {
				return
			}
		}
	case string:
		if len(x) > MaxStringBytes {
			m.longString = len(x)
		}
		m.size += len(x) + 2
	default:
		m.size += len(fmt.Sprint(x))
	}
}

// checkID holds a name to the schema's #ID: a lowercase DNS label of at
// most 63 characters, which is also one safe directory name.
func checkID(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("want 1 to 63 characters, found %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(s)-1) {
			return fmt.Errorf("want lowercase letters, digits and inner dashes (a DNS label and a directory name), found %q", string(rune(c)))
		}
	}
	return nil
}

// checkURL holds a source URL to an absolute URL of one of schemes with a
// host, no password, and no "." or ".." path segment (a URL is where the
// source is, never relative to something else).
func checkURL(raw string, schemes ...string) error {
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("contains a space or control character")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	switch {
	case !ok:
		return fmt.Errorf("want an absolute URL starting with %s://", strings.Join(schemes, ":// or "))
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("no host: want %s://host/path", u.Scheme)
	}
	if _, has := u.User.Password(); has {
		return fmt.Errorf("holds a password: give Flux credentials in a Secret, never in the fleet")
	}
	for _, part := range strings.Split(u.Path, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("a %q path segment: write the path the source is at, without . or .. segments", part)
		}
	}
	return nil
}

// checkChart holds a Helm chart to a chart name: a path or ".." would
// leave the repository.
func checkChart(s string) error {
	if s == "" || len(s) > 250 {
		return fmt.Errorf("want a chart name of 1 to 250 characters")
	}
	if strings.Contains(s, "..") || strings.ContainsAny(s, `/\`) {
		return fmt.Errorf("want a chart name like pos, not a path (no /, \\ or ..)")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("want a chart name of letters, digits, '.', '_' and '-', found %q", string(rune(c)))
		}
	}
	return nil
}

// checkRelPath holds a kustomize path to a relative path inside the
// source: not absolute, no ".." segment, no backslash or control
// character.
func checkRelPath(p string) error {
	switch {
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("an absolute path: want a path inside the source, like ./deploy")
	case strings.ContainsAny(p, "\\"):
		return fmt.Errorf("a backslash: separate directories with /")
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("a control character")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("a .. segment would leave the source: want a path inside it, like ./deploy")
		}
	}
	return nil
}

// checkTagPrefix holds a tag prefix to what Git tags (and OCI tags, which
// have no /) allow.
func checkTagPrefix(s string, oci bool) error {
	if s == "" {
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/' && !oci {
			continue
		}
		return fmt.Errorf("%q is not allowed in a tag", string(rune(c)))
	}
	switch {
	case strings.Contains(s, ".."), strings.Contains(s, "//"), strings.Contains(s, "/."):
		return fmt.Errorf("no .., // or /. in a tag")
	case s[0] == '.' || s[0] == '-' || s[0] == '/':
		return fmt.Errorf("a tag cannot start with %q", s[:1])
	}
	return nil
}

// checkImage holds an image repository to registry/path segments without
// "..", empty segments or a leading /.
func checkImage(s string) error {
	if strings.HasPrefix(s, "/") || strings.Contains(s, "//") {
		return fmt.Errorf("empty path segment: want registry/path like registry.example.com/fleetc-agent")
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("a %q path segment: want registry/path like registry.example.com/fleetc-agent", part)
		}
	}
	return nil
}
