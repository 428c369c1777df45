package generator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFindCycles finds each loop of signals once, from its smallest name.
func TestFindCycles(t *testing.T) {
	sig := func(name string) *signal { return &signal{name: name} }
	a, b, c, d := sig("a"), sig("b"), sig("c"), sig("d")
	recv := func(s *signal) *receiver {
		r := &receiver{signal: s}
		s.receivers = append(s.receivers, r)
		return r
	}
	ra, rb, rc, rd := recv(a), recv(b), recv(c), recv(d)
	g := &signalGraph{m: &model{signals: []*signal{a, b, c, d}}, sends: []send{
		{signal: b, recv: ra}, // a -> b
		{signal: c, recv: rb}, // b -> c
		{signal: a, recv: rc}, // c -> a: a loop of three
		{signal: d, recv: rd}, // d -> d: a receiver that sends its own signal
		{signal: a, pkg: "p"}, // a package, not a loop
	}}
	g.findCycles()
	var got []string
	for _, c := range g.cycles {
		got = append(got, strings.Join(c, " -> "))
	}
	want := []string{"a -> b -> c -> a", "d -> d"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cycles (-want +got):\n%s", diff)
	}
}
