//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// procs are every process the suite started, stopped by process group at
// the end of the test that started them, or on SIGINT/SIGTERM.
var procs struct {
	sync.Mutex
	running map[*exec.Cmd]string
}

// watchSignals stops every process when the test binary is interrupted
// (go test's timeout sends SIGQUIT after its own dump; ^C sends SIGINT).
func watchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		stopAll()
		fmt.Fprintf(os.Stderr, "e2e: %v: stopped every component\n", s)
		os.Exit(1)
	}()
}

func stopAll() {
	procs.Lock()
	cmds := make([]*exec.Cmd, 0, len(procs.running))
	for c := range procs.running {
		cmds = append(cmds, c)
	}
	procs.Unlock()
	for _, c := range cmds {
		stop(c)
	}
}

// start runs name with args in its own process group, stdout and stderr
// to logDir/<label>.log.
func start(logDir, label string, env []string, name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(logDir, label+".log"))
	if err != nil {
		return nil, err
	}
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = log, log
	c.Env = append(os.Environ(), env...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	procs.Lock()
	if procs.running == nil {
		procs.running = map[*exec.Cmd]string{}
	}
	procs.running[c] = label
	procs.Unlock()
	go func() {
		c.Wait()
		log.Close()
	}()
	return c, nil
}

// stop sends SIGTERM to c's process group, then SIGKILL after 5 s.
func stop(c *exec.Cmd) {
	procs.Lock()
	_, ok := procs.running[c]
	delete(procs.running, c)
	procs.Unlock()
	if !ok || c.Process == nil {
		return
	}
	pgid := c.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// freePorts reserves n loopback ports and releases them for the caller.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// poll calls f every interval until it returns true or an error, or ctx
// ends; the last "not yet" reason is in the timeout error.
func poll(ctx context.Context, interval time.Duration, f func() (bool, string, error)) error {
	last := ""
	for {
		ok, why, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last seen: %s", ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}
