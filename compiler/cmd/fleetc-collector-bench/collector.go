package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// collector is one `fleetc feedback serve` process.
type collector struct {
	cmd     *exec.Cmd
	pid     int
	url     string
	started time.Time     // when the process was started
	ready   time.Duration // from start to the first /healthz 200
	log     string        // its stderr
	done    chan error
}

// collectorArgs is how every collector of a run is started.
type collectorArgs struct {
	fleetc, root, cacheDir, dsn, listen string
	rate                                float64
	burst, history                      int
	log                                 string // stderr goes here (appended)
	cpuProfile                          string // FLEETC_CPUPROFILE, "" for none
}

// freePort is a loopback address nothing listens on at the moment.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startCollector starts the collector and waits until /healthz answers 200.
func startCollector(ctx context.Context, a collectorArgs) (*collector, error) {
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(a.fleetc, "--root", a.root, "--cache-dir", a.cacheDir, "feedback", "serve",
		"--db", a.dsn, "--listen", a.listen, "--log-level", "warn",
		"--rate", strconv.FormatFloat(a.rate, 'g', -1, 64), "--burst", strconv.Itoa(a.burst),
		"--history", strconv.Itoa(a.history))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if a.cpuProfile != "" {
		cmd.Env = append(cmd.Env, "FLEETC_CPUPROFILE="+a.cpuProfile)
	}
	c := &collector{cmd: cmd, url: "http://" + a.listen, log: a.log, done: make(chan error, 1)}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.pid = cmd.Process.Pid
	go func() { c.done <- cmd.Wait() }()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err
			return nil, fmt.Errorf("the collector exited before it was healthy (%v); its log: %s\n%s", err, a.log, tail(a.log))
		case <-ctx.Done():
			c.kill()
			return nil, ctx.Err()
		default:
		}
		if resp, err := client.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.ready = time.Since(c.started)
				return c, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.kill()
	return nil, fmt.Errorf("the collector was not healthy after 3 minutes; its log: %s\n%s", a.log, tail(a.log))
}

// kill ends the collector with SIGKILL and waits for it.
func (c *collector) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	err := <-c.done
	c.done <- err
}

// stop ends the collector with SIGTERM (it finishes the requests in flight
// and writes its CPU profile) and waits for it.
func (c *collector) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) && !ee.Exited() {
			return nil // ended by the signal
		}
		return err
	case <-time.After(30 * time.Second):
		c.kill()
		return errors.New("the collector did not stop within 30 s of SIGTERM; killed")
	}
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
