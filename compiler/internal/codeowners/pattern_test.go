package codeowners

import (
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "directory", in: "schemas/", want: "/schemas/"},
		{name: "file", in: "fleet.cue", want: "/fleet.cue"},
		{name: "dot slash", in: "./rings/rings.cue", want: "/rings/rings.cue"},
		{name: "anchored", in: "/policies/legal/", want: "/policies/legal/"},
		{name: "glob", in: "apps/**/*.cue", want: "/apps/**/*.cue"},
		{name: "empty", in: "", err: `owned path "" is empty or the whole repository; name a file or directory`},
		{name: "root", in: "/", err: `owned path "/" is empty or the whole repository; name a file or directory`},
		{name: "dotdot", in: "apps/../x", err: `owned path "apps/../x" has a ".." segment; write it relative to the repository root`},
		{name: "empty segment", in: "apps//x", err: `owned path "apps//x" has an empty segment`},
		{name: "space", in: "my apps/", err: `owned path "my apps/" has whitespace or a backslash, which CODEOWNERS cannot express`},
		{name: "negation", in: "!apps/", err: `owned path "!apps/" starts with !, which CODEOWNERS reads as negation or a comment`},
		{name: "comment", in: "#apps", err: `owned path "#apps" starts with #, which CODEOWNERS reads as negation or a comment`},
		{name: "brackets", in: "apps/[ab].cue", err: `owned path "apps/[ab].cue" uses [ ], which CODEOWNERS does not support`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pattern(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Pattern(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Pattern(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestOwner(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "user", in: "mkowalski", want: "@mkowalski"},
		{name: "at user", in: "@mkowalski", want: "@mkowalski"},
		{name: "forge team", in: "copperleaf/ops", want: "@copperleaf/ops"},
		{name: "email", in: "ops@example.com", want: "ops@example.com"},
		{name: "empty", in: "", bad: true},
		{name: "space", in: "a b", bad: true},
		{name: "bare at", in: "@", bad: true},
		{name: "two slashes", in: "a/b/c", bad: true},
		{name: "trailing slash", in: "org/", bad: true},
		{name: "hash", in: "a#b", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Owner(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("Owner(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Owner(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzPattern: an accepted path yields one root-anchored token that
// CODEOWNERS reads as a pattern (no whitespace, no comment, no negation,
// no parent segments), and normalising is idempotent.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"schemas/", "./fleet.cue", "/a/b", "a/../b", "a b", "!x", "#x", "**/*.rego", "", "/", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Pattern(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, " \t\r\n\\[]") {
			t.Fatalf("Pattern(%q) = %q: not a single anchored token", in, p)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(p[1:], "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("Pattern(%q) = %q: segment %q", in, p, seg)
			}
		}
		again, err := Pattern(p)
		if err != nil || again != p {
			t.Fatalf("Pattern(Pattern(%q)) = %q, %v; want %q", in, again, err, p)
		}
	})
}
