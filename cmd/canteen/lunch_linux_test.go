package main

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel SIGKILL cmd when the test process dies first (a test
// binary that times out runs no cleanup), so no worker or Redis of a test outlives it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
