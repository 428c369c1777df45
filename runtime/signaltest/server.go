package signaltest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtemp"
)

// server is the test binary's server: DATABASE_URL's, or a throwaway one.
var server struct {
	once sync.Once
	url  string
	err  error
	note string // what the first test logs about it
}

// ServerURL returns the connection string of the test server (see the
// package documentation), starting a throwaway server on first use when
// none answers and PostgreSQL is installed. It fails the test, saying how
// to get a server, when there is none.
func ServerURL(t testing.TB) string {
	t.Helper()
	server.once.Do(func() { server.url, server.note, server.err = findServer() })
	if server.err != nil {
		t.Fatalf("signaltest: %v", server.err)
	}
	if server.note != "" {
		t.Log(server.note)
	}
	return server.url
}

// findServer returns the URL of a server that answers: DATABASE_URL's, or
// a throwaway one.
func findServer() (url, note string, err error) {
	url = URLFromEnv()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, cerr := pgx.Connect(ctx, url)
	if cerr == nil {
		conn.Close(ctx)
		return url, "", nil
	}
	if _, ferr := pgtemp.Find(); ferr != nil {
		return "", "", fmt.Errorf("no PostgreSQL answers at %s (%v), and none is installed to start one: %v\n"+
			"Or set DATABASE_URL to a server this test may create schemas in, such as\n"+
			"  DATABASE_URL='postgres://user:pass@host:5432/db?sslmode=disable'", redact(url), cerr, ferr)
	}
	srv, serr := pgtemp.Start(context.Background())
	if serr != nil {
		return "", "", fmt.Errorf("no PostgreSQL answers at %s (%v), and starting a throwaway server failed: %v", redact(url), cerr, serr)
	}
	return srv.URL(), fmt.Sprintf("signaltest: no PostgreSQL answers at %s; started a throwaway server for this test binary (%s); set DATABASE_URL to use another", redact(url), srv.URL()), nil
}
