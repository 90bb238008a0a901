// Package cli builds fleetc's commands. It has no package-level flag
// variables and no init(); commands write to their own out/err writers and
// return errors, and only Main turns the outcome into an exit code, so tests
// run the CLI in-process (see testdata/script/*.txtar).
//
// Exit codes: 0 ok, 1 findings (invalid input, blocked changes, failing
// policy tests), 2 usage or internal error.
package cli
