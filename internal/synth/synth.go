// Package synth writes a synthetic module for measuring signalgen: many
// packages, each with signal declarations and receivers, as a real module
// would have them. Benchmarks and the benchmark command share it.
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"
)

// RepoRoot returns the root of the signals repository (the directory of
// its go.mod), found from this source file.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("synth: cannot find its own source file")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("synth: repository root not found: %w", err)
	}
	return filepath.Abs(root)
}

// Write writes into dir a module example.com/synth with the given number
// of packages and receivers (spread evenly over the packages), and a
// go.mod that replaces github.com/reliablesignals/signals with the
// repository this package is in, so that the generated code compiles.
//
// Package pN declares signal pN.changed (//signal:define) with four
// arguments, and its receivers take a subset of them; every fifth receiver
// instead receives an implicit signal shared by ten packages, and every
// third receiver is a method. Receivers of package pN receive the signals
// of packages pN and pN+1, so that signals have receivers in several
// packages.
func Write(dir string, packages, receivers int) error {
	if packages < 1 || receivers < 0 {
		return fmt.Errorf("synth: need at least one package, got %d packages and %d receivers", packages, receivers)
	}
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	mf, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return err
	}
	// The repository's requirements are the generated code's indirect
	// ones: listing them keeps the module buildable without go mod tidy.
	var req strings.Builder
	req.WriteString("require (\n\tgithub.com/reliablesignals/signals v0.0.0\n")
	for _, r := range mf.Require {
		fmt.Fprintf(&req, "\t%s %s // indirect\n", r.Mod.Path, r.Mod.Version)
	}
	req.WriteString(")\n")
	files := map[string]string{
		"go.mod": fmt.Sprintf("module example.com/synth\n\ngo 1.26.0\n\n%s\nreplace github.com/reliablesignals/signals => %s\n", req.String(), root),
		"go.sum": string(sum),
	}
	perPkg := receivers / packages
	extra := receivers % packages
	n := 0
	for p := 0; p < packages; p++ {
		var b strings.Builder
		fmt.Fprintf(&b, "// Package p%d is synthetic.\npackage p%d\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\n", p, p)
		fmt.Fprintf(&b, "// Changed%d is a declared signal.\n//\n//signal:define p%d.changed\ntype Changed%d func(id int64, name string, at time.Time, tags []string)\n\n", p, p, p)
		fmt.Fprintf(&b, "// Service%d has method receivers.\ntype Service%d struct{ calls int }\n\n", p, p)
		count := perPkg
		if p < extra {
			count++
		}
		for r := 0; r < count; r++ {
			n++
			target := (p + r%2) % packages
			recv := ""
			name := fmt.Sprintf("Receive%d", r)
			if n%3 == 0 {
				recv = fmt.Sprintf("(s *Service%d) ", p)
			}
			switch {
			case n%5 == 0:
				fmt.Fprintf(&b, "// %s receives an implicit signal.\n//\n//signal:receiver group%d.ticked queue=q%d\nfunc %s%s(ctx context.Context, id int64, at time.Time) error { return nil }\n\n", name, p/10, p%4, recv, name)
			default:
				fmt.Fprintf(&b, "// %s receives a declared signal.\n//\n//signal:receiver p%d.changed attempts=%d\nfunc %s%s(ctx context.Context, id int64, name string, tags []string) error { return nil }\n\n", name, target, 1+r%9, recv, name)
			}
		}
		files[fmt.Sprintf("p%d/p%d.go", p, p)] = b.String()
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
