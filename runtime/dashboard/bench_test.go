package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// BenchmarkPages1M measures the pages on a table of 1,000,000 tasks:
// 500,000 dead and 500,000 available, across 5 queues and 20 receivers,
// vacuumed and analyzed as a settled table would be, through a pool set as
// signalctl serve sets its own (8 connections, a 5 s statement timeout, no
// JIT). Each page is measured with filters that match nothing, one task,
// and everything; then the overview while 16 clients request the slowest
// pages without pause. Setting up takes about 20 s. Run it with:
//
//	go test -run XXX -bench Pages1M -benchtime 20x ./runtime/dashboard
func BenchmarkPages1M(b *testing.B) {
	_, url := pgtest.Schema(b)
	setup := pgtest.PoolFor(b, url) // migrated; fills the table without a statement timeout
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 8
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "5000"
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	pgtest.Exec(b, setup, `INSERT INTO signal_task (signal, receiver, queue, payload, state, finished_at, errors)
		SELECT 'sig' || (i % 7), 'recv' || (i % 20), 'q' || (i % 5), json_build_object('n', i), 'dead', now(),
		       jsonb_build_array(jsonb_build_object('attempt', 1, 'error', 'boom ' || i, 'worker', 'w'))
		FROM generate_series(1, 500000) AS i`)
	pgtest.Exec(b, setup, `INSERT INTO signal_task (signal, receiver, queue, payload)
		SELECT 'sig' || (i % 7), 'recv' || (i % 20), 'q' || (i % 5), json_build_object('n', i)
		FROM generate_series(1, 500000) AS i`)
	pgtest.Exec(b, setup, "VACUUM ANALYZE signal_task")
	srv := httptest.NewServer(dashboard.New(pool, dashboard.Options{}))
	defer srv.Close()
	get := func(b *testing.B, path string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	slow := []string{"/tasks?error=nosuchtext", "/tasks?queue=nosuchqueue", "/queue?name=q1", "/tasks?state=running"}
	for _, page := range []struct{ name, path string }{
		{"overview", "/"},
		{"tasks", "/tasks"},
		{"task", "/task?id=777"},
		{"tasks-dead", "/tasks?state=dead"},
		{"tasks-running-none", "/tasks?state=running"},
		{"tasks-queue-receiver", "/tasks?queue=q3&receiver=recv13"},
		{"tasks-queue-none", "/tasks?queue=nosuchqueue"},
		{"tasks-receiver-none", "/tasks?receiver=nosuchreceiver"},
		{"tasks-error-none", "/tasks?error=nosuchtext"},
		{"tasks-error-one", "/tasks?error=boom%204242"},
		{"tasks-error-all", "/tasks?error=boom"},
		{"tasks-page-deep", "/tasks?state=available&before=700000"},
		{"queue", "/queue?name=q1"},
		{"queue-none", "/queue?name=nosuchqueue"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				get(b, page.path)
			}
		})
	}
	b.Run("overview-figures-uncached", func(b *testing.B) { // what the overview's shared figures cost to read
		for b.Loop() {
			if _, err := signalrt.QueueOverview(context.Background(), pool); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("overview-under-16-slow", func(b *testing.B) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				for j := i; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					get(b, slow[j%len(slow)])
				}
			})
		}
		time.Sleep(time.Second) // let them pile up
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			get(b, "/")
			took = append(took, time.Since(start))
		}
		close(stop)
		wg.Wait()
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
	})
}
