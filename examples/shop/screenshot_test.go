package main

import (
	"bytes"
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reliablesignals/signals/internal/browsertest"
	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

var screenshots = flag.Bool("screenshots", false, "write the dashboard screenshots to docs/ at the repository's root")

// TestDashboardScreenshots runs the demo, opens the dashboard on its data in
// a headless browser, and takes screenshots of the overview and of a dead
// task's page: into a temporary directory, or, with -screenshots, into
// docs/ for the README:
//
//	go test ./examples/shop -run TestDashboardScreenshots -args -screenshots
func TestDashboardScreenshots(t *testing.T) {
	ctx := browsertest.New(t)
	schema, url := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	rctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if code := run(rctx, []string{"-schema", schema}, testEnv(pgtest.URL()), &stdout, &stderr); code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, stderr.String())
	}
	pool := pgtest.PoolFor(t, url)
	deadPage, err := signalrt.SearchTasks(t.Context(), pool, signalrt.TaskQuery{State: signalrt.StateDead, Receiver: "github.com/reliablesignals/signals/examples/shop/mail.Mailer.SendReceipt", Limit: 1})
	dead := deadPage.Tasks
	if err != nil || len(dead) != 1 {
		t.Fatalf("a dead task of the demo: %v, %v", dead, err)
	}
	srv := httptest.NewServer(dashboard.New(pool, dashboard.Options{}))
	defer srv.Close()

	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "docs")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, path := range map[string]string{
		"dashboard-overview.png": "/",
		"dashboard-task.png":     "/task?id=" + strconv.FormatInt(dead[0].ID, 10),
	} {
		browsertest.Do(t, ctx, name, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		png := browsertest.Get(t, ctx, name, chromedp.FullScreenshot(100)) // quality 100: PNG
		if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
			t.Fatalf("%s: %d bytes, not a screenshot", name, len(png))
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", filepath.Join(dir, name))
	}
}
