// Package render turns a deploy.State into the deploy tree Flux reads:
// one clusters/<store>/fleet.yaml per store holding a Flux Kustomization
// per app, pointing at one shared releases/<app>/<version>-<hash>/
// directory per variant. Objects are the Flux typed API structs, encoded
// with encoding/json and written as block YAML by a small deterministic
// writer (AppendYAML), so the same state always gives the same bytes.
//
// Check verifies a rendered tree: every store path resolves and every
// release directory builds with kustomize, once per directory.
//
// docs/deploy-layout.md describes the layout for people.
package render
