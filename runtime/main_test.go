package signalrt_test

import (
	"os"
	"testing"
)

// TestMain runs the tests, or, when the test binary was started as a
// child worker process by a test of process_test.go, that worker.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}
