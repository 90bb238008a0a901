// Package feedback is the collector: `fleetc feedback serve` takes the
// signed reports of every store's fleetc-agent (agent/report), keeps the
// latest state per store and a bounded history of changes in SQLite or
// PostgreSQL, and exports the feedback snapshot (docs/feedback.md) that
// `fleetc compile --feedback` promotes rings on.
//
// The pieces, in the order a report meets them:
//   - server.go: POST /v1/reports checks size (413), signature header (401),
//     the store's public key from the fleet and the signature (403), the
//     body (400), that the body names the signing store (403), the store's
//     rate (429) and the report's age (409), then hands it to the DB;
//   - db.go: one schema on both databases, versioned migrations, and group
//     commit: writers take the reports waiting, commit them in one
//     transaction and only then answer 200 to each (acknowledged means
//     durable); a seq not above the store's last is a replay (409);
//   - fleet.go: public keys and rings from the monorepo, reloaded when a
//     fleet file changes;
//   - export.go and status.go: the snapshot and the per-app, per-version,
//     per-ring aggregates (GET /v1/snapshot, GET /v1/status).
package feedback
