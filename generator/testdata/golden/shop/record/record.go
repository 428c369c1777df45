// Package record collects what the receivers were called with, for the
// round-trip test.
package record

import (
	"fmt"
	"sort"
	"sync"
)

var (
	mu    sync.Mutex
	calls []string
)

// Got records one call.
func Got(format string, args ...any) error {
	mu.Lock()
	defer mu.Unlock()
	calls = append(calls, fmt.Sprintf(format, args...))
	return nil
}

// Calls returns the recorded calls, sorted.
func Calls() []string {
	mu.Lock()
	defer mu.Unlock()
	out := append([]string(nil), calls...)
	sort.Strings(out)
	return out
}
