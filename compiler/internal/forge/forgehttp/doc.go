// Package forgehttp is the HTTP plumbing the forge implementations share:
// a retrying transport that backs off on 5xx and 429 and waits out rate
// limits (Retry-After, X-RateLimit-Reset, RateLimit-Reset), the options
// every forge constructor takes, repository URL parsing, and redaction so
// that a token never reaches an error or a log line.
package forgehttp
