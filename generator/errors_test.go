package generator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/reliablesignals/signals/generator"
)

// defaultGoMod is the go.mod of an archive that has none.
const defaultGoMod = "module example.com/m\n\ngo 1.26.0\n"

// TestArchives runs the generator on each txtar archive under
// testdata/errors: a small module, and the exact expected outcome.
//
//   - stderr: the expected diagnostics, one per line, as the command
//     prints them;
//   - files (when there is no stderr): the expected outcome, one line per
//     file, "write PATH" or "remove PATH";
//   - warnings (with files): the expected warnings, one per line, as the
//     command prints them; an archive without this section expects none.
//
// Archive comments hold flags: "signals=DIR" and "dispatch=DIR" set the
// generated packages' directories. -update rewrites the expectations.
func TestArchives(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no archives: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cfg := generator.Config{Dir: dir}
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
					switch k {
					case "signals":
						cfg.SignalsDir = v
					case "dispatch":
						cfg.DispatchDir = v
					}
				}
			}
			var warnings []generator.Diagnostic
			cfg.Warnings = func(ws []generator.Diagnostic) { warnings = ws }
			var want, wantWarnings *txtar.File
			hasGoMod := false
			for i, f := range ar.Files {
				switch f.Name {
				case "stderr", "files":
					want = &ar.Files[i]
					continue
				case "warnings":
					wantWarnings = &ar.Files[i]
					continue
				case "go.mod":
					hasGoMod = true
				}
				writeFile(t, filepath.Join(dir, f.Name), f.Data)
			}
			if !hasGoMod {
				writeFile(t, filepath.Join(dir, "go.mod"), []byte(defaultGoMod))
			}
			if want == nil {
				t.Fatal("archive has neither a stderr nor a files section")
			}

			files, diags, err := generator.Generate(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			if want.Name == "stderr" {
				for _, d := range diags {
					got.WriteString(d.String() + "\n")
				}
				if len(diags) == 0 {
					t.Errorf("no diagnostics; files: %v", files)
				}
				if len(files) > 0 {
					t.Errorf("diagnostics came with %d files", len(files))
				}
			} else {
				for _, d := range diags {
					t.Errorf("diagnostic: %s", d)
				}
				for _, f := range files {
					rel, _ := filepath.Rel(dir, f.Path)
					verb := "write"
					if f.Remove {
						verb = "remove"
					}
					got.WriteString(verb + " " + filepath.ToSlash(rel) + "\n")
				}
			}
			var gotWarnings strings.Builder
			for _, w := range warnings {
				if !w.Warning {
					t.Errorf("warning without its Warning field set: %s", w)
				}
				gotWarnings.WriteString(w.String() + "\n")
			}
			if *update {
				want.Data = []byte(got.String())
				switch {
				case wantWarnings != nil:
					wantWarnings.Data = []byte(gotWarnings.String())
				case gotWarnings.Len() > 0:
					ar.Files = append(ar.Files, txtar.File{Name: "warnings", Data: []byte(gotWarnings.String())})
				}
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(want.Data), got.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", want.Name, diff)
			}
			var wantW string
			if wantWarnings != nil {
				wantW = string(wantWarnings.Data)
			}
			if diff := cmp.Diff(wantW, gotWarnings.String()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
