package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times (100 on
// every Linux this runs on).
const clockTick = 100

// cpuTime is a process's user+system CPU time from /proc/<pid>/stat; with
// children, also the CPU time of its waited-for children.
func cpuTime(pid int, children bool) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command may contain spaces and parentheses: fields start after
	// the last ')'. utime, stime, cutime, cstime are fields 14–17.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	last := 13 // stime is field 15, index 12 after the command
	if children {
		last = 15
	}
	var ticks int64
	for _, s := range f[11:last] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// ppid is a process's parent.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// treeCPU is the CPU time of pid and all its live descendants, plus what
// pid's exited children used (PostgreSQL: the postmaster and its
// backends).
func treeCPU(pid int) time.Duration {
	total, _ := cpuTime(pid, true)
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			parent[n] = ppid(n)
		}
	}
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				t, _ := cpuTime(p, false)
				total += t
				break
			}
		}
	}
	return total
}

// memory is VmRSS and VmHWM of /proc/<pid>/status, in KiB.
func memory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, want := range []struct {
			name string
			to   *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &hwm}} {
			if v, ok := strings.CutPrefix(line, want.name); ok {
				fs := strings.Fields(v)
				if len(fs) > 0 {
					*want.to, _ = strconv.ParseInt(fs[0], 10, 64)
				}
			}
		}
	}
	return rss, hwm, sc.Err()
}

// machineCPU is the busy and total time of all cores from /proc/stat, in
// ticks.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, s := range f[1:min(len(f), 9)] { // guest time is in user already
		n, _ := strconv.ParseInt(s, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
