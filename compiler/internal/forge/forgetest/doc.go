// Package forgetest runs a real Gitea server for tests: StartGitea starts
// the binary scripts/gitea.sh builds on a free loopback port with a
// temporary directory, and helpers create users with tokens, repositories
// with collaborators, and push commits with git over HTTP.
//
// Without the binary the tests that need it are skipped, unless
// FLEETC_REQUIRE_GITEA is set (CI builds it and sets it): then they fail.
package forgetest
