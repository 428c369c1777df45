package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMain runs the command itself when the test binary is re-executed by
// signalgen(), so that tests check the real exit status and output.
func TestMain(m *testing.M) {
	if os.Getenv("SIGNALGEN_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// signalgen runs the command in dir with args.
func signalgen(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIGNALGEN_RUN_MAIN=1", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// module writes a module with the given files (go.mod added) into a new
// temporary directory.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.26.0\n"
	for name, content := range files {
		write(t, filepath.Join(dir, name), content)
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists the files under dir with their modification times.
func tree(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out[filepath.ToSlash(rel)] = info.ModTime()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const receiverA = `package a

import "context"

// Ship receives order.placed.
//
//signal:receiver order.placed queue=warehouse
func Ship(ctx context.Context, orderID int64) error { return nil }
`

const receiverB = `package b

import "context"

// Mail receives order.placed too.
//
//signal:receiver order.placed
func Mail(ctx context.Context, orderID int64, email string) error { return nil }
`

// unsentA is the warning of a module whose only receiver is receiverA's:
// nothing sends order.placed.
const unsentA = "a/a.go:7:1: warning: signal order.placed is implicit and nothing sends it (signals.SendOrderPlaced is never called); declare it with //signal:define in the package that sends it, or check the name\n"

// senderC sends order.placed, before its sender is generated too.
const senderC = `package c

import (
	"context"

	"example.com/m/signals"
)

// Place sends order.placed.
func Place(ctx context.Context) error {
	return signals.SendOrderPlaced(ctx, nil, signals.OrderPlacedPayload{OrderID: 1})
}
`

func TestUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"./...", "-check"}, 2, "signalgen: flag -check after the package patterns; flags come first"},
		{[]string{"-h"}, 0, "usage: signalgen [flags] [packages]"},
	} {
		r := signalgen(t, dir, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("signalgen %v: exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
		if tt.code == 2 && !strings.Contains(r.stderr, "usage: signalgen") {
			t.Errorf("signalgen %v: no usage on stderr:\n%s", tt.args, r.stderr)
		}
	}
}

// TestErrors checks that input errors are printed as file:line:col with
// paths relative to the working directory, sorted, with exit status 1 (2
// with -check), and that nothing is written.
func TestErrors(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{
		"a/a.go": receiverA,
		"b/b.go": strings.Replace(receiverB, "orderID int64", "orderID string", 1) +
			"\n// Bad has no context.\n//\n//signal:receiver other\nfunc Bad() error { return nil }\n",
	})
	before := tree(t, dir)
	want := `b/b.go:8:32: signal order.placed: receiver Mail takes orderID as string, but receiver Ship takes it as int64 (a/a.go:8:32); the receivers of an implicit signal must agree on each argument's type, or the signal must be declared with //signal:define
b/b.go:13:9: receiver Bad has no parameters; a receiver takes a context.Context first: func Bad(ctx context.Context, ...) error
`
	r := signalgen(t, dir)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if diff := cmp.Diff(want, r.stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	// From a subdirectory, paths are relative to it.
	r = signalgen(t, filepath.Join(dir, "b"), "-check", "../...")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "b.go:8:32: ") || !strings.Contains(r.stderr, "(../a/a.go:8:32)") || r.stdout != "" {
		t.Errorf("-check from b: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and paths relative to b", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files changed although there were errors (-before +after):\n%s", diff)
	}
}

// TestGenerateCheckRemove runs the whole cycle: generate, check clean,
// change the input, check stale, regenerate, remove a receiver's package
// of directives and see our files removed.
func TestGenerateCheckRemove(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"a/a.go": receiverA})

	// -check before anything was generated: stale, with a diff that adds
	// the files.
	r := signalgen(t, dir, "-check")
	if r.code != 1 || !strings.Contains(r.stdout, "+++ b/signals/signals_gen.go") || !strings.Contains(r.stderr, "signalgen: generated code is stale") {
		t.Fatalf("first -check: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "signals")); !os.IsNotExist(err) {
		t.Fatalf("-check wrote files: %v", err)
	}

	// Nothing sends order.placed: a warning, not an error.
	if r = signalgen(t, dir); r.code != 0 || r.stderr != unsentA {
		t.Fatalf("generate: exit %d, stderr:\n%s\nwant exit 0 and:\n%s", r.code, r.stderr, unsentA)
	}
	gen := tree(t, dir)
	for _, f := range []string{"signals/signals_gen.go", "signals/dispatch/dispatch_gen.go"} {
		if _, ok := gen[f]; !ok {
			t.Errorf("%s was not written; files: %v", f, gen)
		}
	}
	if r = signalgen(t, dir, "-check"); r.code != 0 || r.stdout != "" || r.stderr != unsentA {
		t.Fatalf("-check after generate: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// Unchanged bytes are not rewritten.
	if r = signalgen(t, dir, "-v"); r.code != 0 || r.stderr != unsentA {
		t.Fatalf("regenerate: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(gen, tree(t, dir)); diff != "" {
		t.Errorf("regenerating unchanged output touched files (-before +after):\n%s", diff)
	}

	// A second receiver makes the output stale.
	write(t, filepath.Join(dir, "b/b.go"), receiverB)
	r = signalgen(t, dir, "-check")
	wantDiff := `--- a/signals/signals_gen.go
+++ b/signals/signals_gen.go
@@ -16,7 +16,8 @@
 // OrderPlacedPayload is the payload of signal order.placed: the parameters of
 // its receivers.
 type OrderPlacedPayload struct {
-	OrderID int64 ` + "`json:\"order_id\"`" + `
+	Email   string ` + "`json:\"email\"`" + `
+	OrderID int64  ` + "`json:\"order_id\"`" + `
 }
`
	if r.code != 1 || !strings.Contains(r.stdout, wantDiff) {
		t.Errorf("-check after adding a receiver: exit %d, stdout:\n%s\nwant it to contain:\n%s", r.code, r.stdout, wantDiff)
	}
	if r = signalgen(t, dir, "-v", "./..."); r.code != 0 || !strings.Contains(r.stderr, "signalgen: updated signals/signals_gen.go") {
		t.Fatalf("regenerate: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// Without directives, our files go; removing a signal that had
	// receivers breaks their queued tasks, so it must be accepted.
	write(t, filepath.Join(dir, "a/a.go"), "package a\n")
	write(t, filepath.Join(dir, "b/b.go"), "package b\n")
	if r = signalgen(t, dir, "-check"); r.code != 2 || !strings.Contains(r.stderr, "signals/dispatch/signals.lock:7:1: signal order.placed is gone, but receiver example.com/m/a.Ship and example.com/m/b.Mail had tasks of it") {
		t.Errorf("-check without directives: exit %d, stderr:\n%s\nwant exit 2 and the removed signal", r.code, r.stderr)
	}
	r = signalgen(t, dir, "-check", "-accept-breaking")
	if r.code != 1 || !strings.Contains(r.stdout, "--- a/signals/signals_gen.go\n+++ /dev/null\n") || !strings.Contains(r.stdout, "--- a/signals/dispatch/dispatch_gen.go\n+++ /dev/null\n") || !strings.Contains(r.stdout, "--- a/signals/dispatch/signals.lock\n+++ /dev/null\n") {
		t.Errorf("-check -accept-breaking without directives: exit %d, stdout:\n%s\nwant exit 1 and the removal of the three files", r.code, r.stdout)
	}
	if r = signalgen(t, dir, "-accept-breaking"); r.code != 0 {
		t.Fatalf("generate without directives: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	want := map[string]bool{"go.mod": true, "a/a.go": true, "b/b.go": true}
	got := map[string]bool{}
	for f := range tree(t, dir) {
		got[f] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files after removing the directives (-want +got):\n%s", diff)
	}
}

// TestUnsentSignal checks the warning for an implicit signal that nothing
// sends: printed as file:line:col: warning: message, files written, exit
// status 0, with -check too; and gone once a package sends the signal,
// even before its sender is generated.
func TestUnsentSignal(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"a/a.go": receiverA})
	r := signalgen(t, dir)
	if r.code != 0 || r.stderr != unsentA || r.stdout != "" {
		t.Fatalf("generate: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0 and:\n%s", r.code, r.stdout, r.stderr, unsentA)
	}
	if _, err := os.Stat(filepath.Join(dir, "signals", "signals_gen.go")); err != nil {
		t.Fatalf("the warning stopped generation: %v", err)
	}
	if r = signalgen(t, dir, "-check"); r.code != 0 || r.stdout != "" || r.stderr != unsentA {
		t.Errorf("-check: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0 and the warning", r.code, r.stdout, r.stderr)
	}
	// Paths are relative to the working directory, as for errors.
	if r = signalgen(t, filepath.Join(dir, "a")); r.code != 0 || r.stderr != strings.Replace(unsentA, "a/a.go", "a.go", 1) {
		t.Errorf("generate in a: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	write(t, filepath.Join(dir, "c/c.go"), senderC)
	if r = signalgen(t, dir); r.code != 0 || r.stderr != "" {
		t.Errorf("generate with a sender: exit %d, stderr:\n%s\nwant no warning", r.code, r.stderr)
	}
	// A module whose sender is not generated yet.
	dir = module(t, map[string]string{"a/a.go": receiverA, "c/c.go": senderC})
	if r = signalgen(t, dir); r.code != 0 || r.stderr != "" {
		t.Errorf("first generation with a sender: exit %d, stderr:\n%s\nwant no warning", r.code, r.stderr)
	}
}

// TestNearMissSignal checks that a receiver of a misspelled declared
// signal is an error at the signal name, with exit status 1 (2 with
// -check), and nothing written.
func TestNearMissSignal(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{
		"users/users.go": `package users

// UserSignedUp is sent when a user signs up.
//
//signal:define
type UserSignedUp func(userID int64)
`,
		"mail/mail.go": `package mail

import "context"

// Welcome misspells the signal.
//
//signal:receiver user_signedup
func Welcome(ctx context.Context, userID int64) error { return nil }
`,
	})
	before := tree(t, dir)
	want := "mail/mail.go:7:19: receiver Welcome: signal user_signedup is not declared; did you mean user_signed_up (users/users.go:6:6)? A signal that no //signal:define declares is implicit only when its name is not a near miss of a declared one; fix the name, or declare user_signedup with //signal:define\n"
	if r := signalgen(t, dir); r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and:\n%s", r.code, r.stderr, want)
	}
	if r := signalgen(t, dir, "-check"); r.code != 2 || r.stderr != want {
		t.Errorf("-check: exit %d, stderr:\n%s\nwant exit 2 and:\n%s", r.code, r.stderr, want)
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files changed although there were errors (-before +after):\n%s", diff)
	}
}

// TestDirs checks -signals and -dispatch.
func TestDirs(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"a/a.go": receiverA})
	r := signalgen(t, dir, "-signals", "internal/sig", "-dispatch", "cmd/worker/table")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	files := tree(t, dir)
	for _, f := range []string{"internal/sig/signals_gen.go", "cmd/worker/table/dispatch_gen.go"} {
		if _, ok := files[f]; !ok {
			t.Errorf("%s was not written; files: %v", f, files)
		}
	}
	content, err := os.ReadFile(filepath.Join(dir, "cmd/worker/table/dispatch_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	// The table decodes only the fields its receivers read: it imports
	// their packages, not the payload's.
	if !strings.Contains(string(content), "package table\n") || !strings.Contains(string(content), `"example.com/m/a"`) {
		t.Errorf("dispatch_gen.go is not package table importing example.com/m/a:\n%s", content)
	}
	r = signalgen(t, dir, "-signals", "../outside")
	if want := "a/a.go:7:1: signal order.placed is not declared with //signal:define, so its sender goes into the generated signals package, but directory ../outside is outside the main module; choose one inside it with -signals\n"; r.code != 1 || r.stderr != want {
		t.Errorf("-signals outside the module: exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
}

// TestNoPackages checks a pattern that matches nothing.
func TestNoPackages(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"a/a.go": "package a\n"})
	r := signalgen(t, dir, "./nothing/...")
	if r.code != 1 || !strings.Contains(r.stderr, "pattern ./nothing/...: ") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestGoTool checks that a user module can run signalgen the two ways the
// manual shows: as a tool (a tool directive in go.mod, go tool signalgen,
// also from go generate) and with go run. The module replaces the signals
// module with this repository. go tool needs the tool's requirements in
// go.mod, which go mod tidy (or go get -tool) writes; GOFLAGS=-mod=mod
// alone does not make go tool add them.
//
// The inner go commands resolve modules the way the outer one does, with
// the same GOPROXY, GOMODCACHE and GOFLAGS (plus -mod=mod): go mod tidy
// needs modules that building this repository's packages never downloads
// (the go.mod files of the whole graph, and testify, which pgx's tests
// import). With a module cache that has run this test once they touch no
// network, even with GOPROXY=off; on a fresh machine they fetch those
// modules from the module proxy, verified against the go.sum copied from
// this repository. (Forcing GOPROXY=off made the test pass or fail by what
// the shared cache happened to hold: issue 9. .ci/run runs this test on an
// empty module cache first.)
func TestGoTool(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod": "module example.com/user\n\ngo 1.26.0\n\n" +
			"tool github.com/reliablesignals/signals/cmd/signalgen\n\n" +
			"require github.com/reliablesignals/signals v0.0.0\n\n" +
			"replace github.com/reliablesignals/signals => " + root + "\n",
		"go.sum": string(sum),
		"a/a.go": "package a\n\n//go:generate go tool signalgen\n\n" + strings.TrimPrefix(receiverA, "package a\n"),
		"b/b.go": receiverB,
		// c calls the generated sender, which does not exist yet.
		"c/c.go": `package c

import (
	"context"

	signalrt "github.com/reliablesignals/signals/runtime"

	"example.com/user/signals"
)

// Place sends order.placed.
func Place(ctx context.Context, db signalrt.Executor) error {
	return signals.SendOrderPlaced(ctx, db, signals.OrderPlacedPayload{OrderID: 1, Email: "a@example.com"})
}
`,
	} {
		write(t, filepath.Join(dir, name), content)
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// go mod tidy writes the tool's requirements. -e: package c imports a
	// package that is not generated yet. (go get -tool would write them
	// too, but it asks the module proxy whether .../cmd/signalgen is a
	// module of its own, and a proxy that answers 403 rather than 404 for
	// an unknown module, as the one on these machines does, fails it.)
	run("mod", "tidy", "-e")
	if out := run("tool", "signalgen", "-v"); !strings.Contains(out, "signalgen: updated signals/signals_gen.go") {
		t.Errorf("go tool signalgen -v printed:\n%s\nwant it to report signals/signals_gen.go", out)
	}
	run("mod", "tidy") // the generated code imports the runtime
	run("build", "./...")
	run("vet", "./...")
	run("generate", "./...")
	run("run", "github.com/reliablesignals/signals/cmd/signalgen", "-check")
	run("tool", "signalgen", "-check", "./...")
}

// TestPartialPatterns checks that patterns that leave out packages with
// directives are refused while the dispatch table and the implicit
// signals go to their default places (which belong to the whole module),
// and allowed when -signals and -dispatch give a part of the module its
// own.
func TestPartialPatterns(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{"a/a.go": receiverA, "b/b.go": receiverB})
	before := tree(t, dir)
	want := "b/b.go:7:1: package example.com/m/b has //signal: directives but is left out by the patterns ./..., so its receivers would drop out of the module's dispatch table; run signalgen without patterns (the whole module), or give -signals and -dispatch to generate separate ones for a part of the module\n"
	// As go generate runs a //go:generate line in package a.
	r := signalgen(t, filepath.Join(dir, "a"), "./...")
	if r.code != 1 || r.stderr != strings.ReplaceAll(want, "b/b.go", "../b/b.go") {
		t.Errorf("signalgen ./... in a: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", r.code, r.stderr, want)
	}
	if r = signalgen(t, dir, "./a"); r.code != 1 || r.stderr != strings.ReplaceAll(want, "./...", "./a") {
		t.Errorf("signalgen ./a: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files changed (-before +after):\n%s", diff)
	}
	// Without patterns, from a, the whole module.
	if r = signalgen(t, filepath.Join(dir, "a")); r.code != 0 {
		t.Errorf("signalgen in a: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r = signalgen(t, dir, "-check", "./a", "./b", "./signals/..."); r.code != 0 {
		t.Errorf("signalgen -check with patterns that cover the module: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// A part of the module with its own signals and dispatch packages.
	if r = signalgen(t, dir, "-signals", "a/sig", "-dispatch", "a/disp", "./a/..."); r.code != 0 {
		t.Errorf("signalgen -signals a/sig -dispatch a/disp ./a/...: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestBreakingChange changes a payload field's type: signalgen refuses it
// at the field's position, writes nothing, and records it only with
// -accept-breaking, saying what it accepted.
func TestBreakingChange(t *testing.T) {
	dir := module(t, map[string]string{"a/a.go": receiverA})
	if r := signalgen(t, dir); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	lock := filepath.Join(dir, "signals", "dispatch", "signals.lock")
	before, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a/a.go"), strings.Replace(receiverA, "orderID int64", "orderID string", 1))
	r := signalgen(t, dir)
	want := `a/a.go:8:32: payload of signal order.placed: field "order_id" was int64, is now string: tasks already queued will not decode for receiver example.com/m/a.Ship, which reads "order_id"; keep the old field and add a new one, or send a new signal (to accept it, run signalgen once with -accept-breaking; under go generate, add -accept-breaking right after signalgen in the //go:generate line for that one run)`
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("breaking change: exit %d, stderr:\n%s\nwant exit 1 and %s", r.code, r.stderr, want)
	}
	if after, _ := os.ReadFile(lock); !bytes.Equal(before, after) {
		t.Fatal("the contract file changed although the change was refused")
	}
	if r := signalgen(t, dir, "-check"); r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Fatalf("-check: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = signalgen(t, dir, "-accept-breaking")
	if r.code != 0 || !strings.Contains(r.stderr, `field "order_id" was int64, is now string: tasks already queued will not decode for receiver example.com/m/a.Ship, which reads "order_id"; keep the old field and add a new one, or send a new signal (accepted)`) {
		t.Fatalf("-accept-breaking: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	after, _ := os.ReadFile(lock)
	if !strings.Contains(string(after), `"order_id" string`) {
		t.Fatalf("the contract file does not record the new type:\n%s", after)
	}
	if r := signalgen(t, dir); r.code != 0 || r.stderr != unsentA {
		t.Fatalf("run after accepting: exit %d\n%s", r.code, r.stderr)
	}
}

// goModule writes a module example.com/m with the given files (go.mod and
// go.sum added) that requires this repository, so that generated code
// compiles and runs against the runtime, and tidies it; it returns the
// module's directory and a function that runs the go command there. The
// go commands resolve modules as TestGoTool's do.
func goModule(t *testing.T, files map[string]string) (string, func(args ...string) string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.26.0\n\n" +
		"require github.com/reliablesignals/signals v0.0.0\n\n" +
		"replace github.com/reliablesignals/signals => " + root + "\n"
	files["go.sum"] = string(sum)
	for name, content := range files {
		write(t, filepath.Join(dir, name), content)
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// -e: the packages may import generated packages that do not exist yet.
	run("mod", "tidy", "-e")
	return dir, run
}

// signedUp declares user.signed_up, whose receivers read different fields:
// welcomeA reads user_id, mailerB reads email, and no receiver reads
// source.
const signedUp = `package users

// SignedUp is sent when a user signs up.
//
//signal:define user.signed_up
type SignedUp func(userID int64, email string, source int64)
`

const welcomeA = `package a

import "context"

// Welcome greets a new user.
//
//signal:receiver user.signed_up
func Welcome(ctx context.Context, userID int64) error { return nil }
`

const mailerB = `package b

import "context"

// Mailer sends e-mail.
type Mailer struct{ From string }

// Confirm mails a new user.
//
//signal:receiver user.signed_up
func (m *Mailer) Confirm(ctx context.Context, email string) error { return nil }
`

// decodeMain runs the generated dispatch table on a payload whose user_id
// is a string: what a sender of a version in which userID is a string
// sends.
const decodeMain = `package main

import (
	"context"
	"errors"
	"fmt"

	signalrt "github.com/reliablesignals/signals/runtime"

	"example.com/m/b"
	"example.com/m/signals/dispatch"
	"example.com/m/users"
)

func main() {
	ctx := context.Background()
	payload := []byte(` + "`" + `{"user_id": "abc", "email": "ann@example.com", "source": 1}` + "`" + `)
	fmt.Println("signal:", users.UserSignedUpPayload{}.SignalName())
	for _, r := range dispatch.Table(&b.Mailer{}) {
		err := r.Handle(ctx, payload)
		var perm *signalrt.PermanentError
		fmt.Printf("%s: contract %s: Decode: %v; Handle: %v (permanent: %t)\n", r.Key, r.Contract, r.Decode(payload), err, errors.As(err, &perm))
	}
	for _, r := range dispatch.Table(nil) {
		fmt.Printf("%s: without an instance: Unbound: %q\n", r.Key, r.Unbound)
	}
	_, err := signalrt.NewWorker(nil, dispatch.Table(nil), signalrt.Config{})
	fmt.Println("NewWorker:", err)
	err = users.SendUserSignedUp(signalrt.WithInline(ctx, dispatch.Table(nil)), nil, users.UserSignedUpPayload{UserID: 1, Email: "ann@example.com"})
	fmt.Println("inline send:", err)
}
`

// TestReceiverReadsItsFields checks that each receiver decodes only the
// payload fields it reads, in the code and in the contract check: with the
// generated Decode and Handle functions, a payload whose user_id is a
// string fails for the receiver that reads user_id and not for the one
// that reads only email; changing the type of a field that no receiver
// reads is compatible, and leaves the receivers' contracts alone; changing
// that of a field that one receiver reads is breaking, and the message
// names that receiver only. It also runs the payload's SignalName method,
// and a table built without an instance (Unbound), against the runtime.
func TestReceiverReadsItsFields(t *testing.T) {
	t.Parallel()
	dir, run := goModule(t, map[string]string{
		"users/users.go":     signedUp,
		"a/a.go":             welcomeA,
		"b/b.go":             mailerB,
		"cmd/decode/main.go": decodeMain,
	})
	if r := signalgen(t, dir); r.code != 0 || r.stderr != "" {
		t.Fatalf("signalgen: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	run("vet", "./...")
	out := run("run", "./cmd/decode")
	lock := filepath.Join(dir, "signals", "dispatch", "signals.lock")
	before, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	contractOf := func(lock []byte, key string) string {
		for _, l := range strings.Split(string(lock), "\n") {
			if strings.HasPrefix(l, "receiver "+key+" ") {
				_, c, _ := strings.Cut(l, " contract=")
				return c
			}
		}
		t.Fatalf("no receiver %s in the contract file:\n%s", key, lock)
		return ""
	}
	contractA, contractB := contractOf(before, "example.com/m/a.Welcome"), contractOf(before, "example.com/m/b.Mailer.Confirm")
	unbound := "dispatch.Table's parameter mailer (*b.Mailer)"
	want := []struct {
		prefix   string
		contains []string
	}{
		{"signal: user.signed_up", nil},
		// A reads user_id: it cannot decode the string, and its handler
		// fails permanently without calling it.
		{"example.com/m/a.Welcome: contract " + contractA + ": Decode: payload does not decode into dispatch.welcomeArgs: ",
			[]string{"user_id", "; Handle: payload does not decode into dispatch.welcomeArgs: ", "(permanent: true)"}},
		// B reads only email: it decodes and runs.
		{"example.com/m/b.Mailer.Confirm: contract " + contractB + ": Decode: <nil>; Handle: <nil> (permanent: false)", nil},
		{`example.com/m/a.Welcome: without an instance: Unbound: ""`, nil},
		{"example.com/m/b.Mailer.Confirm: without an instance: Unbound: " + strconv.Quote(unbound), nil},
		{"NewWorker: receiver example.com/m/b.Mailer.Confirm: " + unbound + " is nil: ", nil},
		{"inline send: signal user.signed_up: receiver example.com/m/b.Mailer.Confirm: " + unbound + " is nil: ", nil},
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("go run ./cmd/decode printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		ok := strings.HasPrefix(lines[i], w.prefix)
		for _, c := range w.contains {
			ok = ok && strings.Contains(lines[i], c)
		}
		if !ok {
			t.Errorf("go run ./cmd/decode: line %d is\n\t%s\nwant it to start with %q and contain %q", i+1, lines[i], w.prefix, w.contains)
		}
	}
	if contractA == contractB {
		t.Errorf("receivers that read different fields have the same contract %s", contractA)
	}

	// source, which no receiver reads, becomes a string: compatible, and
	// neither receiver's contract changes.
	write(t, filepath.Join(dir, "users/users.go"), strings.Replace(signedUp, "source int64", "source string", 1))
	r := signalgen(t, dir, "-v")
	wantCompat := `users/users.go:6:48: payload of signal user.signed_up: field "source" was int64, is now string; no receiver reads "source" (compatible)`
	if r.code != 0 || !strings.Contains(r.stderr, wantCompat) {
		t.Fatalf("changing the type of a field that no receiver reads: exit %d, stderr:\n%s\nwant exit 0 and:\n%s", r.code, r.stderr, wantCompat)
	}
	after, _ := os.ReadFile(lock)
	if !strings.Contains(string(after), `"source" string`) {
		t.Fatalf("the contract file does not record the new type:\n%s", after)
	}
	if a, b := contractOf(after, "example.com/m/a.Welcome"), contractOf(after, "example.com/m/b.Mailer.Confirm"); a != contractA || b != contractB {
		t.Errorf("a change to a field that no receiver reads changed the receivers' contracts: %s, %s; were %s, %s", a, b, contractA, contractB)
	}

	// user_id, which A reads, becomes a string: breaking, for A only.
	write(t, filepath.Join(dir, "users/users.go"), strings.NewReplacer("source int64", "source string", "userID int64", "userID string").Replace(signedUp))
	write(t, filepath.Join(dir, "a/a.go"), strings.Replace(welcomeA, "userID int64", "userID string", 1))
	r = signalgen(t, dir)
	wantBreaking := `users/users.go:6:20: payload of signal user.signed_up: field "user_id" was int64, is now string: tasks already queued will not decode for receiver example.com/m/a.Welcome, which reads "user_id"; keep the old field and add a new one, or send a new signal (to accept it, run signalgen once with -accept-breaking; under go generate, add -accept-breaking right after signalgen in the //go:generate line for that one run)` + "\n"
	if r.code != 1 || r.stderr != wantBreaking {
		t.Fatalf("changing the type of a field that A reads: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", r.code, r.stderr, wantBreaking)
	}
	if now, _ := os.ReadFile(lock); !bytes.Equal(now, after) {
		t.Error("the contract file changed although the change was refused")
	}
}

// TestGraph draws a module whose receivers send each other's signals in a
// loop, and a signal that nothing sends: the loop is reported on stderr,
// the unsent signal marked.
func TestGraph(t *testing.T) {
	t.Parallel()
	dir := module(t, map[string]string{
		"a/a.go": `package a

import (
	"context"

	"example.com/m/signals"
)

// Ping answers pong with ping.
//
//signal:receiver ping
func Ping(ctx context.Context, n int) error { return signals.SendPong(ctx, nil, signals.PongPayload{N: n}) }

// Pong answers ping with pong.
//
//signal:receiver pong
func Pong(ctx context.Context, n int) error { return signals.SendPing(ctx, nil, signals.PingPayload{N: n}) }

// Lonely receives a signal that nothing sends.
//
//signal:receiver lonely queue=q attempts=3
func Lonely(ctx context.Context, n int) error { return nil }
`,
		"signals/doc.go": "// Package signals holds the generated senders.\npackage signals\n",
	})
	r := signalgen(t, dir, "-graph")
	if r.code != 0 {
		t.Fatalf("-graph: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		`s0(["lonely<br/>(sent nowhere)"])`,
		`class s0 unsent`,
		`r0["a.Lonely<br/>example.com/m/a<br/>queue q, 3 attempts"]`,
		"s0 -.-> r0",
		"r1 -- sends --> s2", // Ping sends pong
		"r2 -- sends --> s1", // Pong sends ping
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("graph lacks %q:\n%s", want, r.stdout)
		}
	}
	if want := "signalgen: cycle: ping -> pong -> ping\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	r = signalgen(t, dir, "-graph=dot")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "digraph signals {") || !strings.Contains(r.stdout, "s0 -> r0 [style=dashed];") {
		t.Errorf("-graph=dot: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := signalgen(t, dir, "-graph=svg"); r.code != 2 || !strings.Contains(r.stderr, `unknown graph format "svg"; valid formats are dot and mermaid`) {
		t.Errorf("-graph=svg: exit %d\n%s", r.code, r.stderr)
	}
}
