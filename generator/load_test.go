package generator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadParsesOnlyRoots checks that loading parses the loaded packages'
// own files and nothing else, also when old output is hidden: their
// dependencies (here net/http and its hundreds of files) come from export
// data. Handing go/packages a Config.Overlay made it type-check every
// dependency from source, several times slower than go vet.
func TestLoadParsesOnlyRoots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26.0\n",
		"a/a.go": `package a

import (
	"context"
	"net/http"
)

// Client is used by the receiver's package.
var Client = http.DefaultClient

// R receives s.
//
//signal:receiver s
func R(ctx context.Context, id int64) error { return nil }
`,
		// Stale output, hidden through the overlay.
		"signals/signals_gen.go": Header + "\n\npackage signals\n\nfunc Old( {\n",
	} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog, diags, err := load(context.Background(), Config{Dir: dir, Env: append(os.Environ(), "GOWORK=off")})
	if err != nil || len(diags) > 0 {
		t.Fatalf("load: %v %v", err, diags)
	}
	if len(prog.old) != 1 {
		t.Errorf("old files = %v, want signals/signals_gen.go", prog.old)
	}
	files := 0
	for _, p := range prog.pkgs {
		files += len(p.GoFiles)
		for _, e := range p.Errors {
			t.Errorf("package %s: %v", p.PkgPath, e)
		}
	}
	if got := prog.parsed.Load(); got != int64(files) {
		t.Errorf("load parsed %d files, want %d (the loaded packages' own): dependencies were loaded from source", got, files)
	}
}

func TestDefaultPattern(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"mod/a/b", "nomod"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "mod", "go.mod"), []byte("module m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]string{
		"mod":     "./...",
		"mod/a":   "../...",
		"mod/a/b": "../../...",
		"nomod":   "./...",
	} {
		if got := defaultPattern(filepath.Join(dir, d)); got != want {
			t.Errorf("defaultPattern(%s) = %q, want %q", d, got, want)
		}
	}
}
