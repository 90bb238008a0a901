// Package ci holds no code, only tests of the repository's CI: every
// GitHub Actions workflow (.github/workflows/*.yml and the deploy-repo
// templates in docs/workflows/) is linted with actionlint and held to the
// project's rules (permissions on every job, pinned actions, secrets only
// through env, the plan comment found by its marker, the 15-minute
// publish schedule); the plan markdown renderer (.github/fleetc-plan.jq)
// is run against a real plan; and the GitLab CI equivalent in
// docs/gitlab-ci.md is parsed and its stages and jobs checked.
package ci
