package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reliablesignals/signals/internal/pgtest"
)

// readmeFile finds the README's Go blocks that start with a file name
// comment ("// users/users.go").
var readmeFile = regexp.MustCompile("(?s)```go\n// ([a-z_/]+\\.go)\n(.*?)```")

// TestReadmeProgram builds the program of the README's "Add it to your
// project" as a user would: its files in a new module that requires this
// one (replaced by this checkout) as a tool, go mod tidy, go generate, go
// mod tidy again, go vet, go test (its signaltest test, against the test
// server), then runs it on a fresh schema: it must sign a user up, run
// the welcome receiver, and shut down gracefully on SIGTERM.
func TestReadmeProgram(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := readmeFile.FindAllSubmatch(readme, -1)
	names := map[string]bool{}
	for _, f := range files {
		names[string(f[1])] = true
		write(t, filepath.Join(dir, string(f[1])), string(f[2]))
	}
	for _, want := range []string{"main.go", "users/users.go", "mail/mail.go", "users/users_test.go"} {
		if !names[want] {
			t.Fatalf("the README has no Go block for %s (blocks: %v)", want, names)
		}
	}
	// What go mod init and go get -tool write (go get -tool asks the module
	// proxy about this module, which is not published from a checkout).
	write(t, filepath.Join(dir, "go.mod"), "module example.com/app\n\ngo 1.26.0\n\n"+
		"tool github.com/reliablesignals/signals/cmd/signalgen\n\n"+
		"require github.com/reliablesignals/signals v0.0.0\n\n"+
		"replace github.com/reliablesignals/signals => "+root+"\n")
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("mod", "tidy", "-e") // the program imports packages not generated yet
	goCmd("generate", "./...")
	goCmd("mod", "tidy")
	goCmd("vet", "./...")
	goCmd("test", "./...")
	goCmd("build", "-o", "app", ".")

	_, url := pgtest.Schema(t)
	cmd := exec.Command(filepath.Join(dir, "app"))
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	welcomed := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "welcome ada@example.com (task 1, attempt 1)") {
				close(welcomed)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	select {
	case <-welcomed:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the program did not welcome the user:\n%s", log.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the program after SIGTERM: %v; want a graceful exit (status 0)", err)
	}
}
