package publish

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitea"
	"github.com/fleetc/fleetc/compiler/internal/forge/github"
	"github.com/fleetc/fleetc/compiler/internal/forge/gitlab"
)

// newForge holds the forge constructors by provider name. This map is the
// one place the forge implementations (packages under compiler/internal/
// forge/) are wired in: github, gitlab and gitea. A provider missing here
// is reported as not built in.
var newForge = map[string]func(repoURL string, token string, opts ...forgehttp.Option) (forge.Forge, error){
	"github": func(repoURL, token string, opts ...forgehttp.Option) (forge.Forge, error) {
		return github.New(repoURL, token, opts...)
	},
	"gitlab": func(repoURL, token string, opts ...forgehttp.Option) (forge.Forge, error) {
		return gitlab.New(repoURL, token, opts...)
	},
	"gitea": func(repoURL, token string, opts ...forgehttp.Option) (forge.Forge, error) {
		return gitea.New(repoURL, token, opts...)
	},
}

// Providers are the accepted --provider values; git pushes without a
// merge request.
var Providers = []string{"github", "gitlab", "gitea", "git"}

// tokenVars are the environment variables a provider's token is read
// from, in order.
var tokenVars = map[string][]string{
	"github": {"FLEETC_TOKEN", "GITHUB_TOKEN"},
	"gitlab": {"FLEETC_TOKEN", "GITLAB_TOKEN"},
	"gitea":  {"FLEETC_TOKEN", "GITEA_TOKEN"},
	"git":    {"FLEETC_TOKEN"},
}

// gitUsers is the basic-auth user name git sends with the token over
// HTTPS; FLEETC_GIT_USER overrides it.
var gitUsers = map[string]string{
	"github": "x-access-token",
	"gitlab": "oauth2",
	"gitea":  "fleetc",
	"git":    "fleetc",
}

// errNoToken is a forge provider without a token in the environment.
var errNoToken = errors.New("no token")

func tokenFor(provider string, getenv func(string) string) string {
	for _, v := range tokenVars[provider] {
		if t := strings.TrimSpace(getenv(v)); t != "" {
			return t
		}
	}
	return ""
}

func gitUser(provider string, getenv func(string) string) string {
	if u := getenv("FLEETC_GIT_USER"); u != "" {
		return u
	}
	return gitUsers[provider]
}

// InferProvider guesses the provider from the repository URL's host:
// github.com, hosts with gitlab or gitea/codeberg/forgejo in the name; else
// git (push only).
func InferProvider(repoURL string) string {
	host := ""
	if u, err := url.Parse(repoURL); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if at := strings.IndexByte(repoURL, '@'); at >= 0 { // git@host:owner/repo
		host, _, _ = strings.Cut(repoURL[at+1:], ":")
	}
	host = strings.ToLower(host)
	switch {
	case host == "github.com" || strings.HasSuffix(host, ".github.com"):
		return "github"
	case strings.Contains(host, "gitlab"):
		return "gitlab"
	case strings.Contains(host, "gitea"), strings.Contains(host, "codeberg"), strings.Contains(host, "forgejo"):
		return "gitea"
	}
	return "git"
}

// forgeFor builds the forge for provider name with the token from the
// environment. Plain git has none (nil, nil). Errors never contain the
// token.
func forgeFor(name, repoURL string, getenv func(string) string, opts ...forgehttp.Option) (forge.Forge, error) {
	if name == "git" {
		return nil, nil
	}
	if !slices.Contains(Providers, name) {
		return nil, fmt.Errorf("provider %q: want one of %s", name, strings.Join(Providers, ", "))
	}
	ctor := newForge[name]
	if ctor == nil {
		built := slices.Sorted(maps.Keys(newForge))
		return nil, fmt.Errorf("provider %s is not built into this fleetc (built in: %s); use --provider git to push without a merge request",
			name, strings.Join(append(built, "git"), ", "))
	}
	token := tokenFor(name, getenv)
	if token == "" {
		return nil, fmt.Errorf("provider %s: %w: set %s", name, errNoToken, strings.Join(tokenVars[name], " or "))
	}
	f, err := ctor(repoURL, token, opts...)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", name, redacted(err, token))
	}
	return f, nil
}

// redactedError hides secrets in an error's text but keeps the error
// chain, so callers can still errors.As a *forge.APIError.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return redact(e.err.Error(), e.secrets...) }
func (e *redactedError) Unwrap() error { return e.err }

// redacted wraps err so its text never shows the secrets; nil stays nil.
func redacted(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, secrets: secrets}
}
