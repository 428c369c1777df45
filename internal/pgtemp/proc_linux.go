package pgtemp

import "syscall"

var quitSignal = syscall.SIGQUIT

// procAttr runs a command as own (when we are root). For the long-running
// server it also asks the kernel for a fast shutdown (SIGINT) if the thread
// that started it dies, which in practice means the Go process, so an
// abandoned server does not outlive us. (Go ends a thread early only when a
// goroutine locked to it with runtime.LockOSThread exits; do not call Start
// from such a goroutine.)
func procAttr(own *owner, server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if own != nil {
		a.Credential = &syscall.Credential{Uid: own.uid, Gid: own.gid}
	}
	if server {
		a.Pdeathsig = syscall.SIGINT
	}
	return a
}
