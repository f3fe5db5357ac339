package peers

import "syscall"

// sysProcAttr has the kernel kill the peer server if the test process dies
// without cleaning up (a timeout panic, a SIGKILL), so no server outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
