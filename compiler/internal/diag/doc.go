// Package diag holds fleetc's one diagnostics type: a finding with a
// position (file, line, column relative to the repository root, forward
// slashes), a field path, a severity, a stable code and a message; a List
// that collects and sorts them; and printers for text, JSON and GitHub
// Actions annotations.
//
// Findings (schema violations, unknown references, policy denials) are
// results and travel as a List. Go errors are kept for I/O failures and bugs.
package diag
