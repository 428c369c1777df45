package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/reliablesignals/signals/internal/pgtest"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// BenchmarkPages1M measures the pages on a table of 1,000,000 tasks:
// 500,000 dead and 500,000 available, across 5 queues and 20 receivers,
// vacuumed and analyzed as a settled table would be. Setting up takes
// about 15 s. Run it with:
//
//	go test -run XXX -bench Pages1M -benchtime 20x ./runtime/dashboard
func BenchmarkPages1M(b *testing.B) {
	pool := pgtest.Pool(b)
	pgtest.Exec(b, pool, `INSERT INTO signal_task (signal, receiver, queue, payload, state, finished_at, errors)
		SELECT 'sig' || (i % 7), 'recv' || (i % 20), 'q' || (i % 5), jsonb_build_object('n', i), 'dead', now(),
		       '[{"attempt": 1, "error": "boom", "worker": "w"}]'
		FROM generate_series(1, 500000) AS i`)
	pgtest.Exec(b, pool, `INSERT INTO signal_task (signal, receiver, queue, payload)
		SELECT 'sig' || (i % 7), 'recv' || (i % 20), 'q' || (i % 5), jsonb_build_object('n', i)
		FROM generate_series(1, 500000) AS i`)
	pgtest.Exec(b, pool, "VACUUM ANALYZE signal_task")
	srv := httptest.NewServer(dashboard.New(pool, dashboard.Options{}))
	defer srv.Close()
	for _, page := range []struct{ name, path string }{
		{"overview", "/"},
		{"tasks", "/tasks"},
		{"tasks-dead", "/tasks?state=dead"},
		{"tasks-queue-receiver", "/tasks?queue=q3&receiver=recv13"},
		{"tasks-page-deep", "/tasks?state=available&before=700000"},
		{"queue", "/queue?name=q1"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(srv.URL + page.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", page.path, resp.StatusCode)
				}
			}
		})
	}
}
