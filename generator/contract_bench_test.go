package generator

import (
	"context"
	"testing"

	"github.com/reliablesignals/signals/internal/synth"
)

// BenchmarkContractAndGraph measures, on the synthetic module of 100
// packages and 500 receivers, what this issue adds to a generation: the
// contract (shapes, fingerprints, the file's text), reading the recorded
// one back and comparing, and finding the senders for the graph. Compare
// with BenchmarkGenerateSynthetic (a whole generation):
//
//	go test ./generator -run '^$' -bench 'ContractAndGraph|GenerateSynthetic' -benchtime 10x
func BenchmarkContractAndGraph(b *testing.B) {
	dir := b.TempDir()
	if err := synth.Write(dir, 100, 500); err != nil {
		b.Fatal(err)
	}
	prog, diags, err := load(context.Background(), Config{Dir: dir})
	if err != nil || len(diags) > 0 {
		b.Fatal(err, diags)
	}
	m, ds, ext := analyze(prog)
	if len(ds) > 0 || len(ext) > 0 {
		b.Fatal(ds, ext)
	}
	m.setContracts()
	recorded := contractOf(m).text()
	b.Run("contract", func(b *testing.B) {
		for b.Loop() {
			m.setContracts()
			c := contractOf(m)
			c.text()
			old, err := parseContract(recorded)
			if err != nil {
				b.Fatal(err)
			}
			if changes := compareContracts(old, c); len(changes) > 0 {
				b.Fatal(changes)
			}
		}
	})
	b.Run("graph", func(b *testing.B) {
		for b.Loop() {
			prog.graph(m).mermaid()
		}
	})
}
