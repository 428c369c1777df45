package generator_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/reliablesignals/signals/generator"
)

// writeModule writes a module example.com/shop with one receiver into a
// new temporary directory.
func writeModule(receiver string) string {
	dir, err := os.MkdirTemp("", "signalgen-example")
	if err != nil {
		log.Fatal(err)
	}
	files := map[string]string{
		"go.mod":       "module example.com/shop\n\ngo 1.26.0\n",
		"mail/mail.go": "package mail\n\nimport \"context\"\n\n" + receiver,
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

// Generate returns the files to write; Write writes them, and Diff
// compares them with the disk.
func ExampleGenerate() {
	dir := writeModule(`// Welcome greets a new user.
//
//signal:receiver user.signed_up queue=mail
func Welcome(ctx context.Context, userID int64, email string) error { return nil }
`)
	defer os.RemoveAll(dir)

	files, diags, err := generator.Generate(context.Background(), generator.Config{Dir: dir})
	if err != nil || len(diags) > 0 {
		log.Fatal(err, diags)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Path)
		fmt.Println(filepath.ToSlash(rel))
		// Print the payload struct.
		if start := bytes.Index(f.Content, []byte("type UserSignedUpPayload")); start >= 0 {
			end := bytes.Index(f.Content[start:], []byte("\n}\n"))
			fmt.Printf("%s\n", f.Content[start:start+end+2])
		}
	}
	// Output:
	// signals/dispatch/dispatch_gen.go
	// signals/dispatch/signals.lock
	// signals/signals_gen.go
	// type UserSignedUpPayload struct {
	// 	Email  string `json:"email"`
	// 	UserID int64  `json:"user_id"`
	// }
}

// Problems come back as diagnostics, all of them, each with its position;
// no files are returned then.
func ExampleGenerate_diagnostics() {
	dir := writeModule(`// Welcome greets a new user.
//
//signal:receiver user.signed_up retries=3 timeout=soon
func Welcome(ctx context.Context, userID int64, email string) {}
`)
	defer os.RemoveAll(dir)

	files, diags, err := generator.Generate(context.Background(), generator.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range diags {
		fmt.Println(d)
	}
	fmt.Println(len(files), "files")
	// Output:
	// mail/mail.go:7:34: unknown option "retries"; valid options are attempts, burst, concurrency, name, priority, queue, rate, timeout
	// mail/mail.go:7:44: option timeout=soon is invalid: timeout must be a positive duration such as 30s, 1m30s or 500ms
	// mail/mail.go:8:62: receiver Welcome returns nothing; a receiver returns exactly error
	// 0 files
}
