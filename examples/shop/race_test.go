//go:build race

package main

// raceEnabled is set when the tests run under the race detector; the
// end-to-end test then builds the demo binary with -race too.
const raceEnabled = true
