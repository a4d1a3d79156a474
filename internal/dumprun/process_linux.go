package dumprun

import "syscall"

// childAttributes puts the dumper in its own process group and kills it when the
// manager dies, so a restarted manager never finds a stale dumper still writing.
func childAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
