package generator_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/reliablesignals/signals/generator"
	"github.com/reliablesignals/signals/internal/pgtest"
	"github.com/reliablesignals/signals/internal/synth"
)

// TestRoundTrip copies the shop module without its generated code,
// generates it afresh, and runs the module's roundtrip program against
// PostgreSQL: it sends signals inside a transaction (and others in one it
// rolls back), runs the generated dispatch table until no task is left,
// and prints what each receiver was called with.
//
// It needs a PostgreSQL server: DATABASE_URL, or
// postgres://postgres@127.0.0.1:5432/test. It fails (never skips) when
// none is reachable.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	_, url := pgtest.Schema(t)

	src, err := filepath.Abs("testdata/golden/shop")
	if err != nil {
		t.Fatal(err)
	}
	root, err := synth.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.Name() == generator.SignalsFile || d.Name() == generator.DispatchFile {
			return nil // generated below, from scratch
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "go.mod" {
			data = []byte(strings.Replace(string(data), "=> ../../../..", "=> "+root, 1))
		}
		writeFile(t, filepath.Join(dir, rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	files := generate(t, generator.Config{Dir: dir})
	if _, err := generator.Write(files); err != nil {
		t.Fatal(err)
	}
	// Generated without any previous output, the code equals the golden.
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Path)
		golden, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if diff := cmp.Diff(string(golden), string(f.Content)); diff != "" {
			t.Errorf("%s generated without previous output differs from the golden file (-golden +fresh):\n%s", rel, diff)
		}
	}

	cmd := exec.Command("go", "run", "./cmd/roundtrip")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./cmd/roundtrip: %v\n%s", err, out)
	}
	want := `audit.Log.Payment prefix=audit orderID=42
audit.Log.Refund prefix=audit orderID=42 amount=1250
crm.AddContact email=bob@example.com signedUpAt=2025-03-01T12:30:00Z
mail.Mailer.SendReceipt from=shop@example.com orderID=42 email=ann@example.com
mail.Mailer.Welcome from=shop@example.com userID=7 email=bob@example.com
shipping.ReserveStock orderID=42 lines=[{tea 2} {cup 1}]
succeeded=6 retried=0 dead=0
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("receivers were called with (-want +got):\n%s", diff)
	}
}
