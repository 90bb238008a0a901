// Package render turns a deploy.State into the deploy tree Flux reads:
// one tiny clusters/<store>/kustomization.yaml per store (its profile as a
// resource and a ConfigMap with its FLEETC_* variables), one
// profiles/<name>/ per distinct (ring, app → variant) set holding a Flux
// Kustomization per app, and one shared releases/<app>/<version>-<hash>/
// directory per variant. Objects are the Flux typed API structs, encoded
// with encoding/json and written as block YAML by a small deterministic
// writer (AppendYAML), so the same state always gives the same bytes.
//
// Check verifies a rendered tree: every store's profile and every
// profile's release path resolves, and releases, a sample of profiles and
// one store build with kustomize, once each.
//
// docs/deploy-layout.md describes the layout for people.
package render
