//go:build unix

package main

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit
// (Go does so at start on Linux too; this makes it explicit and portable
// across Unix systems) and returns it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		raised := l
		raised.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			l = raised
		}
	}
	return uint64(l.Cur), nil
}
