package cli

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetc/fleetc/agent/report"
	"github.com/fleetc/fleetc/compiler/internal/feedback"
)

func newFeedbackCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "feedback",
		Short: "Run the feedback collector, or export its snapshot for compile --feedback",
		Long: `feedback is the other half of fleetc-agent (docs/agent.md): the collector
takes every store's signed reports and keeps what each store runs and how
it is, and export writes the feedback snapshot that compile and plan
promote rings on (--feedback, docs/rollout.md, docs/feedback.md).`,
		Args: noArgs(""),
	}
	c.AddCommand(newFeedbackServeCmd(), newFeedbackExportCmd())
	return c
}

func newFeedbackServeCmd() *cobra.Command {
	var o feedback.ServeOptions
	var logFormat, logLevel, readTokenFile string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve POST /v1/reports for the stores' agents, and the snapshot and status",
		Long: `serve runs the feedback collector until SIGINT or SIGTERM.

Endpoints:
  POST /v1/reports   one signed report from a store's agent (agent/report):
                     200 once it is committed to the database; 400 malformed
                     (what is wrong is in the answer), 401 unsigned, 403 a
                     signature that does not verify with the store's public
                     key, a store without one, or a report about another
                     store; 409 replayed (seq not above the last), older than
                     --max-age or ahead of the clock; 413 over
                     --max-report-bytes; 429 faster than --rate (Retry-After)
  GET /v1/snapshot   the feedback snapshot (docs/feedback.md)
  GET /v1/status     stores reporting, and per app, version and ring how
                     many stores run it Ready, failing, unknown or stale
  GET /metrics       Prometheus metrics;   GET /healthz   database reachable

Each store's public key comes from the fleet (--root): stores: <id>: agent:
publicKey, added by pull request (docs/agent.md). The fleet is reloaded when
its files change; a fleet with errors keeps the previous keys in use.

--db sqlite:PATH keeps everything in one file on this machine (WAL,
synchronous=FULL). --db postgres://… lets several collector processes
behind a load balancer share one database; they keep no state of their own
but the per-store rate limit. Migrations are applied at start.`,
		Example: `  fleetc feedback serve --db sqlite:/var/lib/fleetc/feedback.db --listen :8480
  fleetc feedback serve --db postgres://fleetc@db:5432/fleetc --tls-cert tls.crt --tls-key tls.key`,
		Args: noArgs(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := readGlobals(cmd)
			if err != nil {
				return err
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return usagef("--log-level %q: want debug, info, warn or error", logLevel)
			}
			hopts := &slog.HandlerOptions{Level: lvl}
			switch logFormat {
			case "json":
				o.Server.Log = slog.New(slog.NewJSONHandler(g.stderr, hopts))
			case "text":
				o.Server.Log = slog.New(slog.NewTextHandler(g.stderr, hopts))
			default:
				return usagef("--log-format %q: want json or text", logFormat)
			}
			o.Root, o.CacheDir = g.root, g.cacheDir
			if readTokenFile != "" {
				tok, err := readToken(readTokenFile)
				if err != nil {
					return usagef("--read-token-file: %v", err)
				}
				o.Server.ReadToken = tok
			}
			return feedback.Serve(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8480", "address to listen on (host:port; :8480 for every interface)")
	f.StringVar(&o.DSN, "db", "sqlite:feedback.db", "database: sqlite:PATH or postgres://USER@HOST:PORT/DB (password from the URL or PGPASSWORD)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	f.StringVar(&o.TLSKey, "tls-key", "", "the certificate's private key (PEM)")
	f.DurationVar(&o.Reload, "reload", 30*time.Second, "how often to look for edits of the fleet (agent keys, rings)")
	f.Int64Var(&o.Server.MaxBytes, "max-report-bytes", report.MaxBytes, "largest report accepted (413 above)")
	f.DurationVar(&o.Server.MaxAge, "max-age", 7*24*time.Hour, "oldest report accepted (409 stale above); an agent's spool holds days of reports")
	f.Float64Var(&o.Server.Rate, "rate", 0.2, "reports per second each store may send, sustained (429 above)")
	f.IntVar(&o.Server.Burst, "burst", 120, "reports a store may send at once, e.g. catching up on its spool")
	f.IntVar(&o.DB.History, "history", 100, "state changes kept per store (a report equal to the last only updates its time)")
	f.StringVar(&readTokenFile, "read-token-file", "", "GET /v1/status and /v1/snapshot need Authorization: Bearer <the file's token> (default: open to whoever reaches --listen)")
	f.StringVar(&logFormat, "log-format", "json", "log format on stderr: json or text")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug (every accepted report), info, warn or error")
	return c
}

func newFeedbackExportCmd() *cobra.Command {
	var from, out, tokenFile string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the collector's feedback snapshot (for compile --feedback)",
		Long: `export writes the feedback snapshot (docs/feedback.md): every store's latest
report, read from a running collector (GET URL/v1/snapshot) or straight
from its database. compile and plan read it with --feedback.`,
		Example: `  fleetc feedback export --from https://feedback.internal:8480 > snapshot.json
  fleetc feedback export --from sqlite:/var/lib/fleetc/feedback.db --out snapshot.json
  fleetc compile --out deploy --feedback snapshot.json`,
		Args: noArgs(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return usagef("--from is required: the collector's URL or database")
			}
			w := cmd.OutOrStdout()
			var tmp *os.File
			if out != "" && out != "-" {
				var err error
				if tmp, err = os.CreateTemp(filepath.Dir(out), ".snapshot-*"); err != nil {
					return err
				}
				defer os.Remove(tmp.Name())
				w = tmp
			}
			ctx := cmd.Context()
			var token string
			if tokenFile != "" {
				var err error
				if token, err = readToken(tokenFile); err != nil {
					return usagef("--token-file: %v", err)
				}
			}
			if err := feedback.Export(ctx, from, w, &http.Client{Timeout: timeout}, token); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if tmp != nil {
				if err := tmp.Sync(); err != nil {
					return err
				}
				if err := tmp.Close(); err != nil {
					return err
				}
				return os.Rename(tmp.Name(), out)
			}
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the collector's URL (http://… or https://…) or database (sqlite:PATH, postgres://…)")
	c.Flags().StringVar(&out, "out", "", "write the snapshot to this file, atomically (default: stdout)")
	c.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up on the collector after this long")
	c.Flags().StringVar(&tokenFile, "token-file", "", "send Authorization: Bearer <the file's token> (a collector run with --read-token-file)")
	return c
}

// readToken reads a bearer token file: one line, no spaces.
func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%s: want one token on one line", file)
	}
	return tok, nil
}
