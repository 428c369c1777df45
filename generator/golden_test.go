package generator_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/reliablesignals/signals/generator"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden and the expected output of testdata/errors")

// goCmd runs the go command in dir and fails the test on error.
func goCmd(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// generate runs the generator on the module in dir and fails the test on
// diagnostics.
func generate(t testing.TB, cfg generator.Config) []generator.File {
	t.Helper()
	files, diags, err := generator.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Generate(%s): %v", cfg.Dir, err)
	}
	if len(diags) > 0 {
		var b strings.Builder
		for _, d := range diags {
			b.WriteString(d.String() + "\n")
		}
		t.Fatalf("Generate(%s): diagnostics:\n%s", cfg.Dir, b.String())
	}
	return files
}

// TestGolden regenerates each module under testdata/golden, compares the
// output with the committed files byte for byte (-update rewrites them),
// and then compiles and vets the module with its generated code.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/golden/*/go.mod")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, gomod := range cases {
		dir, _ := filepath.Abs(filepath.Dir(gomod))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			files := generate(t, generator.Config{Dir: dir})
			if *update {
				if _, err := generator.Write(files); err != nil {
					t.Fatal(err)
				}
				goCmd(t, dir, "mod", "tidy")
			}
			if len(files) == 0 {
				t.Fatal("no files generated")
			}
			for _, f := range files {
				rel, _ := filepath.Rel(dir, f.Path)
				if f.Remove {
					t.Errorf("%s: committed generated file is stale and would be removed", rel)
					continue
				}
				want, err := os.ReadFile(f.Path)
				if err != nil {
					t.Errorf("%s: %v (run go test -update)", rel, err)
					continue
				}
				if diff := cmp.Diff(string(want), string(f.Content)); diff != "" {
					t.Errorf("%s differs from the generated code (-committed +generated; go test -update rewrites):\n%s", rel, diff)
				}
				header := generator.Header
				if filepath.Base(f.Path) == generator.ContractFile {
					header = "# " + strings.TrimPrefix(header, "// ")
				}
				if !bytes.HasPrefix(f.Content, []byte(header+"\n")) {
					t.Errorf("%s does not start with the header", rel)
				}
			}
			// ./... skips testdata, so the case is vetted by explicit path.
			goCmd(t, dir, "vet", "./...")
		})
	}
}

// TestGenerateDeterministic checks that runs give the same bytes, also
// when the packages are named in another order.
func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"shop", "types"} {
		dir, _ := filepath.Abs(filepath.Join("testdata", "golden", name))
		pkgs := strings.Fields(goCmd(t, dir, "list", "-f", "{{.Dir}}", "./..."))
		var reversed []string
		for i := len(pkgs) - 1; i >= 0; i-- {
			reversed = append(reversed, pkgs[i])
		}
		first := generate(t, generator.Config{Dir: dir})
		for _, cfg := range []generator.Config{{Dir: dir}, {Dir: dir, Patterns: reversed}} {
			if diff := cmp.Diff(first, generate(t, cfg)); diff != "" {
				t.Errorf("%s: runs with patterns %v differ (-first +second):\n%s", name, cfg.Patterns, diff)
			}
		}
	}
}

// TestGraphGolden draws the graph of the golden shop module in both
// formats and compares it with testdata/graph (-update rewrites).
func TestGraphGolden(t *testing.T) {
	dir, _ := filepath.Abs("testdata/golden/shop")
	for _, format := range []string{generator.GraphMermaid, generator.GraphDOT} {
		out, cycles, diags, err := generator.Graph(context.Background(), generator.Config{Dir: dir}, format)
		if err != nil || len(diags) > 0 {
			t.Fatalf("Graph(%s): %v %v", format, err, diags)
		}
		if len(cycles) > 0 {
			t.Errorf("cycles in the shop: %v", cycles)
		}
		golden := filepath.Join("testdata", "graph", "shop."+format)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(out)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", golden, diff)
		}
	}
}
