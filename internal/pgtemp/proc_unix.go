//go:build unix && !linux

package pgtemp

import "syscall"

var quitSignal = syscall.SIGQUIT

// procAttr runs a command as own (when we are root).
func procAttr(own *owner, server bool) *syscall.SysProcAttr {
	if own == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: own.uid, Gid: own.gid}}
}
