//go:build unix

package pgtemp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartStop(t *testing.T) {
	t.Parallel()
	if _, err := Find(); err != nil {
		t.Fatalf("this test needs PostgreSQL's server binaries: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t0 := time.Now()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v at %s (euid %d)", time.Since(t0).Round(time.Millisecond), s.URL(), os.Geteuid())
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()

	if !strings.HasPrefix(s.dir, "/tmp/") && os.Geteuid() == 0 {
		t.Errorf("dir %s: want it under /tmp when root", s.dir)
	}
	if n := len(filepath.Join(s.dir, ".s.PGSQL.5432")); n > 100 {
		t.Errorf("socket path is %d bytes long", n)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(s.dir)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		own, _ := unprivileged(runAs)
		if st.Uid != own.uid {
			t.Errorf("dir owned by uid %d, want %d (%s)", st.Uid, own.uid, own.name)
		}
	}

	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatalf("pgx.Connect(%q): %v", s.URL(), err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var db, usr, listen, fsync string
	if err := conn.QueryRow(ctx, "SELECT current_database(), current_user, current_setting('listen_addresses'), current_setting('fsync')").
		Scan(&db, &usr, &listen, &fsync); err != nil {
		t.Fatal(err)
	}
	if db != "test" || usr != "postgres" || listen != "" || fsync != "off" {
		t.Errorf("database %q user %q listen_addresses %q fsync %q; want test postgres '' off", db, usr, listen, fsync)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (1, 'a')"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "a" {
		t.Fatalf("SELECT v = %q, %v", v, err)
	}
	// Leave the connection open: Stop's fast shutdown must not wait for it.

	pid := s.cmd.Process.Pid
	dir := s.dir
	var kids []int
	if runtime.GOOS == "linux" {
		// The postmaster's children: checkpointer, walwriter, our backend...
		if kids = children(t, pid); len(kids) == 0 {
			t.Errorf("found no child processes of postgres pid %d", pid)
		}
	}
	stopped = true
	t1 := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(t1).Round(time.Millisecond))
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	conn.Close(ctx)

	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, stat %s: %v; want it gone", dir, err)
	}
	select {
	case <-s.done:
	default:
		t.Fatal("Stop returned before postgres exited")
	}
	if s.waitErr != nil {
		t.Errorf("postgres exit: %v; want a clean fast shutdown", s.waitErr)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	for _, k := range kids {
		if err := syscall.Kill(k, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("postgres child pid %d still exists after Stop (kill 0: %v)", k, err)
		}
	}
}

// children returns the pids of processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func TestFindNone(t *testing.T) {
	empty := t.TempDir()
	old := searchGlobs
	searchGlobs = []string{filepath.Join(empty, "*", "bin")}
	t.Cleanup(func() { searchGlobs = old })
	t.Setenv("PATH", empty)

	dir, err := Find()
	if err == nil {
		t.Fatalf("Find() = %q, nil; want an error", dir)
	}
	msg := err.Error()
	for _, want := range []string{
		"initdb",
		"apt-get install postgresql",
		"docker run --rm -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:16",
		"DATABASE_URL=",
		empty,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	t.Logf("error:\n%s", msg)

	// Start reports the same error and leaves nothing behind.
	if _, err := Start(context.Background()); err == nil || err.Error() != msg {
		t.Errorf("Start() error = %v; want Find's", err)
	}
}

func TestFindNewestAndPath(t *testing.T) {
	root := t.TempDir()
	mk := func(dir string, names ...string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	mk(filepath.Join(root, "lib", "9.6", "bin"), "initdb", "postgres")
	want := mk(filepath.Join(root, "lib", "16", "bin"), "initdb", "postgres")
	mk(filepath.Join(root, "lib", "10", "bin"), "initdb", "postgres")
	mk(filepath.Join(root, "lib", "17", "bin"), "psql") // client only: skipped
	pathDir := mk(filepath.Join(root, "path"), "initdb", "postgres")

	old := searchGlobs
	t.Cleanup(func() { searchGlobs = old })
	t.Setenv("PATH", pathDir)

	searchGlobs = []string{filepath.Join(root, "lib", "*", "bin")}
	if got, err := Find(); err != nil || got != want {
		t.Errorf("Find() = %q, %v; want %q", got, err, want)
	}
	searchGlobs = []string{filepath.Join(root, "none", "*", "bin")}
	if got, err := Find(); err != nil || got != pathDir {
		t.Errorf("Find() with nothing in searchGlobs = %q, %v; want PATH's %q", got, err, pathDir)
	}
}

func TestURLParses(t *testing.T) {
	s := &Server{dir: "/tmp/pgtemp123 x+y&z=%"}
	cfg, err := pgx.ParseConfig(s.URL())
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", s.URL(), err)
	}
	if cfg.Host != s.dir || cfg.Port != 5432 || cfg.Database != "test" || cfg.User != "postgres" {
		t.Errorf("ParseConfig(%q) = host %q port %d db %q user %q", s.URL(), cfg.Host, cfg.Port, cfg.Database, cfg.User)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	if _, err := Find(); err != nil {
		t.Fatalf("this test needs PostgreSQL's server binaries: %v", err)
	}
	t.Parallel()
	var dir string
	bad := append(slices.Clip(settings), "pgtemp_no_such_setting=1")
	s, err := start(context.Background(), options{runAs: runAs, settings: bad, made: func(d string) { dir = d }})
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded with a bad setting")
	}
	t.Logf("error:\n%v", err)
	if !strings.Contains(err.Error(), `unrecognized configuration parameter "pgtemp_no_such_setting"`) {
		t.Errorf("error does not include the log's complaint:\n%v", err)
	}
	if dir == "" {
		t.Fatal("start made no directory")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Start left %s behind (stat: %v)", dir, err)
	}
}

// TestStartAsNobody checks the fallback account used by root when there is
// no postgres user.
func TestStartAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	t.Parallel()
	users := []string{"pgtemp-no-such-user", "nobody"}
	own, err := unprivileged(users)
	if err != nil {
		t.Fatal(err)
	}
	if own.name != "nobody" {
		t.Fatalf("unprivileged() = %s, want nobody", own.name)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := start(ctx, options{runAs: users, settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	fi, err := os.Stat(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != own.uid {
		t.Errorf("dir owned by uid %d, want nobody's %d", uid, own.uid)
	}
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, stat %s: %v; want it gone", s.dir, err)
	}
}
