package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux this runs on.
const clockTicks = 100

// selfCPU is this process's user and system CPU time so far, in seconds.
func selfCPU() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime), nil
}

// processCPU is pid's user and system CPU time so far (all threads), in
// seconds, from /proc/PID/stat.
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server cpu: %w", err)
	}
	// The command name may hold spaces and parentheses: fields are
	// counted after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("server cpu: unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("server cpu: unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("server cpu: unexpected /proc/%d/stat", pid)
	}
	return float64(utime+stime) / clockTicks, nil
}

// processMemory is pid's VmHWM (peak resident set) and VmRSS in KiB.
func processMemory(pid int) (peak, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("server memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kib := func() int64 {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			return n
		}
		switch name {
		case "VmHWM":
			peak = kib()
		case "VmRSS":
			rss = kib()
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("server memory: %w", err)
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("server memory: no VmHWM in /proc/%d/status", pid)
	}
	return peak, rss, nil
}

// cpuTimes are one CPU's busy and total jiffies from /proc/stat.
type cpuTimes struct{ busy, total int64 }

// machineCPU reads every CPU's times from /proc/stat; nil when it cannot
// (not Linux): the result then says nothing about the machine.
func machineCPU() []cpuTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []cpuTimes
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "cpuN user nice system idle iowait irq softirq steal ..."
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var t cpuTimes
		for i, v := range f[1:9] {
			n, _ := strconv.ParseInt(v, 10, 64)
			t.total += n
			if i != 3 && i != 4 { // idle and iowait
				t.busy += n
			}
		}
		out = append(out, t)
	}
	return out
}

// busyFractions is how busy each CPU was between two readings.
func busyFractions(a, b []cpuTimes) []float64 {
	if len(a) == 0 || len(a) != len(b) {
		return nil
	}
	out := make([]float64, len(a))
	for i := range a {
		if d := b[i].total - a[i].total; d > 0 {
			out[i] = float64(b[i].busy-a[i].busy) / float64(d)
		}
	}
	return out
}

// idleBusy is how busy a CPU may be and still count as idle.
const idleBusy = 0.10

// waitIdle waits until every CPU was at most idleBusy busy over one
// second, or until limit passes: another process's work on the machine
// makes a measurement smaller than what the machine can do. It says so
// when it gives up, and never fails.
func waitIdle(ctx context.Context, limit time.Duration, stderr io.Writer) {
	deadline := time.Now().Add(limit)
	prev := machineCPU()
	if prev == nil {
		return
	}
	var busy []float64
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		cur := machineCPU()
		busy, prev = busyFractions(prev, cur), cur
		if slices.Max(busy) <= idleBusy {
			return
		}
	}
	fmt.Fprintf(stderr, "harness: the machine is not idle (CPUs busy %s over the last second); measuring anyway\n", percents(busy))
}

func percents(fs []float64) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%.0f%%", 100*f)
	}
	return strings.Join(out, " ")
}

// processAlive reports whether pid runs: it exists and is not a zombie
// waiting for its parent.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
