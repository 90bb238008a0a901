// Package e2e proves fleetc's output on real components: store clusters of
// etcd, kube-apiserver and Flux's source-, kustomize- and helm-controllers,
// built from the Go module proxy by scripts/kube.sh, reconcile what fleetc
// compiled and published to a git server on loopback.
//
// The tests carry the build tag e2e and run with `make e2e`
// (docs/e2e.md): they need FLEETC_KUBE, the directory scripts/kube.sh
// prints, and git. Every process they start listens on loopback, is
// stopped by process group when the test ends (passes, fails or is
// interrupted), and leaves its log under the run's directory, which a
// failing run names.
package e2e
