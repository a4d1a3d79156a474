//go:build !linux

package dumprun

import "syscall"

// childAttributes puts the dumper in its own process group; only Linux can tie its
// life to the manager's.
func childAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
