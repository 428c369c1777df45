//go:build !unix

package pgtemp

import (
	"os"
	"syscall"
)

// quitSignal cannot be sent here; Stop falls through to a kill.
var quitSignal = os.Kill

// procAttr returns nil: os.Geteuid never reports root here, so own is nil.
func procAttr(own *owner, server bool) *syscall.SysProcAttr { return nil }
