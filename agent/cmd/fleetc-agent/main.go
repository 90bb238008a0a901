// Command fleetc-agent is fleetc's edge agent: in each store's cluster it
// reads what Flux applied and how the apps are, signs it with the store's
// key and sends it to the feedback collector, which turns the stores'
// reports into the feedback snapshot `fleetc compile --feedback` promotes
// rings on. docs/agent.md is the manual.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/fleetc/fleetc/agent/internal/identity"
	"github.com/fleetc/fleetc/agent/internal/kube"
	"github.com/fleetc/fleetc/agent/report"

	"github.com/fleetc/fleetc/internal/buildinfo"
)

const help = `fleetc-agent: report a store cluster's Flux state to the fleetc collector.

Usage:
  fleetc-agent [run] --store ID --collector URL [flags]   report every --interval (the default command)
  fleetc-agent run --once ...                             one report, one delivery pass, then exit
  fleetc-agent pubkey [--state-dir DIR | --key-secret NS/NAME]  print the store's public key (creates the key)
  fleetc-agent version
  fleetc-agent help | --help | run --help

What it reads (GET, every --interval), in --namespace (flux-system):
  /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/NS/kustomizations
  /apis/helm.toolkit.fluxcd.io/v2/namespaces/NS/helmreleases
  /api/v1/nodes
Per app Kustomization (label fleetc.dev/app, name not ending in .release):
the fleetc.dev/version and fleetc.dev/variant labels, lastAppliedRevision and
the Ready condition; Ready=False on the HelmRelease <app> or the
Kustomization <app>.release makes the app failing while it waits for health.
If a list fails, no report is made that interval (logged). Apps whose
Kustomization carries fleetc.dev/health are probed (GET that URL).

Window enforcement (the fleet sets settings.agent.enforceWindows): it reads
the ConfigMap fleetc-store and suspends the Kustomization fleetc-window
outside the store's window, resumes it inside (--enforce-window=false: never).

RBAC it needs (agent/deploy/rbac.yaml), nothing more:
  get, list, watch  kustomizations.kustomize.toolkit.fluxcd.io  (Role in flux-system)
  get, list, watch  helmreleases.helm.toolkit.fluxcd.io         (Role in flux-system)
  patch             kustomizations fleetc-window only           (Role in flux-system)
  get               configmaps fleetc-store only                (Role in flux-system)
  get, list, watch  nodes                                       (ClusterRole)
  get secrets fleetc-agent-key; create secrets (Role in fleetc-system; --key-secret)

What it sends: POST <collector>/v1/reports, body the report JSON
(schema fleetc.dev/report/v1: store, seq, at, nodes, apps), headers
Fleetc-Store: <store id> and Fleetc-Signature: ed25519=<signature of the body>
made with the private key in <state-dir>/key, or in the Secret --key-secret
names (data key key.pem; made at first start). The collector accepts it only
if the inventory holds the store's public key (fleetc-agent pubkey):
  stores: <id>: agent: publicKey: "ed25519:..."
Reports wait in <state-dir>/spool until the collector answers 200 (or 409:
it has it; 400/413: never acceptable, dropped); 401/403/429/5xx/network
errors are retried, oldest first, with exponential backoff.

Exit codes: 0 ok (--once: the report made and everything delivered),
1 failure (--once: no report made, or reports still spooled), 2 usage error. SIGTERM finishes the current write and exits 0.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks an error that is the caller's: exit code 2.
type errUsage struct{ error }

func usagef(format string, args ...any) error { return errUsage{fmt.Errorf(format, args...)} }

// cli runs one command and returns the exit code.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = "help", nil
	}
	var err error
	switch cmd {
	case "run":
		err = runCmd(ctx, args, stdout, stderr)
	case "pubkey":
		err = pubkeyCmd(args, stdout, stderr)
	case "version":
		if len(args) > 0 {
			err = usagef("version takes no arguments")
		} else {
			fmt.Fprintf(stdout, "fleetc-agent %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		}
	case "help":
		fmt.Fprint(stdout, help)
	default:
		err = usagef("unknown command %q", cmd)
	}
	var u errUsage
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "fleetc-agent: %v\nRun 'fleetc-agent --help' for usage.\n", err)
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintf(stderr, "fleetc-agent: %v\n", err)
		return 1
	}
}

// errReported is a failure already logged.
var errReported = errors.New("failed (logged)")

// newFlags makes a command's flag set; its usage prints the manual first.
func newFlags(name string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, help)
		fmt.Fprintf(stdout, "\nFlags of %s:\n", name)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	return fs
}

// parse parses flags; a bad one is a usage error, -h is flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage{err}
	}
	if fs.NArg() > 0 {
		return usagef("%s takes no arguments, got %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

const defaultStateDir = "/var/lib/fleetc-agent"

func keyPath(stateDir string) string { return filepath.Join(stateDir, "key") }

func pubkeyCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pubkey", stdout, stderr)
	stateDir := fs.String("state-dir", defaultStateDir, "directory holding the agent's key, seq and spool")
	keySecret := fs.String("key-secret", "", "the key is in this Secret (NAMESPACE/NAME), as for run --key-secret; made when missing")
	kubeconfig := fs.String("kubeconfig", "", "with --key-secret: kubeconfig file (else $KUBECONFIG, else the pod's service account)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var kc *kube.Client
	if *keySecret != "" {
		if _, _, err := identity.ParseSecretRef(*keySecret); err != nil {
			return usagef("--key-secret %v", err)
		}
		cfg, err := kube.Load(*kubeconfig)
		if err != nil {
			return err
		}
		kc = kube.New(cfg, kubeTimeout)
	} else if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		return err
	}
	key, created, where, err := loadKey(kc, *keySecret, *stateDir)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "fleetc-agent: created a new key in %s\n", where)
	}
	fmt.Fprintln(stdout, report.FormatPublicKey(key.Public().(ed25519.PublicKey)))
	return nil
}

// sizeFlag is a byte count: 16777216, 16MiB, 512KiB, 1GiB.
type sizeFlag int64

func (s *sizeFlag) String() string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if *s > 0 && int64(*s)%u.n == 0 {
			return strconv.FormatInt(int64(*s)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(*s), 10)
}

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	for suffix, n := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if num, ok := strings.CutSuffix(v, suffix); ok {
			v, mult = num, n
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return errors.New("want a positive byte count such as 16777216 or 16MiB")
	}
	*s = sizeFlag(n * mult)
	return nil
}

// version is the binary's build stamp (internal/buildinfo, shared with fleetc).
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return buildinfo.Version(bi)
}
