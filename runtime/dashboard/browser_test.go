package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/reliablesignals/signals/internal/browsertest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// startWorker runs a worker whose "mail" receiver succeeds, until the test
// ends. Succeeded tasks are kept, so that pages can show them.
func startWorker(t *testing.T, f fixture) {
	t.Helper()
	table := signalrt.Table{{Key: "mail", Signal: "order_placed", Queue: "mail", Handle: func(context.Context, []byte) error { return nil }}}
	w, err := signalrt.NewWorker(f.pool, table, signalrt.Config{
		Name: "browser-test", PollInterval: 50 * time.Millisecond, Retention: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// waitText polls the text of sel until cond holds.
func waitText(t *testing.T, ctx context.Context, what, sel string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		text := browsertest.Get(t, ctx, what, chromedp.Text(chromedp.CSS(sel)))
		if cond(text) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q after 60s", what, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func count(t *testing.T, f fixture, state, queue string) int {
	t.Helper()
	qs, err := signalrt.QueueOverview(context.Background(), f.pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Queue == queue {
			return int(map[string]int64{"available": q.Available, "dead": q.Dead}[state])
		}
	}
	return 0
}

// TestBrowserOverviewFilterAndRetry opens the overview and reads the counts
// the database has, filters the dead tasks, opens one, retries it, and
// watches it succeed once the worker ran it.
func TestBrowserOverviewFilterAndRetry(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFixture(t)
	startWorker(t, f)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()

	wantDead := strconv.Itoa(count(t, f, "dead", "mail"))
	browsertest.Do(t, ctx, "overview", chromedp.Navigate(srv.URL+"/"))
	dead := browsertest.Get(t, ctx, "dead count", chromedp.Text(chromedp.CSS(`#queues tr[data-queue="mail"] td[data-col="dead"]`)))
	if dead != wantDead || wantDead != "2" {
		t.Errorf("overview shows %q dead tasks in mail; the database has %s (want 2)", dead, wantDead)
	}

	browsertest.Do(t, ctx, "filter dead tasks",
		chromedp.Navigate(srv.URL+"/tasks"),
		chromedp.SetValue(chromedp.CSS(`select[name="state"]`), "dead"),
		chromedp.Click(chromedp.CSS(`form.filters button`)),
		chromedp.WaitVisible(chromedp.CSS(`#tasks`)),
	)
	waitFor(t, func() bool {
		return browsertest.Get(t, ctx, "location", chromedp.Evaluate[bool](`location.search.includes("state=dead") && document.readyState === "complete"`))
	})
	rows := browsertest.Get(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("#tasks tr[data-id]").length`))
	if rows != 2 {
		t.Fatalf("%d dead tasks listed, want 2", rows)
	}
	id := strconv.FormatInt(f.dead, 10)
	browsertest.Do(t, ctx, "open the dead task and retry it",
		chromedp.Click(chromedp.CSS(`#tasks tr[data-id="`+id+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#retry`)),
		chromedp.Click(chromedp.CSS(`#retry`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash`)),
	)
	deadline := time.Now().Add(60 * time.Second)
	for {
		browsertest.Do(t, ctx, "reload the task", chromedp.Navigate(srv.URL+"/task?id="+id))
		state := browsertest.Get(t, ctx, "state", chromedp.Text(chromedp.CSS(`h1 .badge`)))
		if signalrt.TaskState(state) == signalrt.StateSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retried task %s: state %q after 60s, want succeeded", id, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserPauseAndResume pauses a queue on its page, sends tasks while a
// worker runs and watches them pile up on the overview (which refreshes
// itself), then resumes and watches them drain.
func TestBrowserPauseAndResume(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFixture(t)
	startWorker(t, f)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	// Let the worker run the fixture's due task first.
	waitFor(t, func() bool { return count(t, f, "available", "mail") == 1 }) // the delayed one is left
	browsertest.Do(t, ctx, "pause", chromedp.Navigate(srv.URL+"/queue?name=mail"), chromedp.Click(chromedp.CSS(`#pause`)), chromedp.WaitVisible(chromedp.CSS(`#resume`)))

	browsertest.Do(t, ctx, "overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#queues`)))
	for i := range 20 {
		if err := signalrt.Send(context.Background(), f.pool, "order_placed", []signalrt.Route{{Receiver: "mail", Queue: "mail"}}, map[string]int{"order_id": 100 + i}); err != nil {
			t.Fatal(err)
		}
	}
	// The overview updates without a reload; the tasks wait.
	waitText(t, ctx, "sends to pile up on the overview", `#queues tr[data-queue="mail"] td[data-col="available"]`, func(s string) bool { return s == "21" })
	if a := browsertest.Get(t, ctx, "refresh marker", chromedp.AttributeValue(chromedp.CSS(`#overview`), "data-refreshed")); !a.Exists {
		t.Error("the overview changed without its refresh script having run")
	}
	if n := count(t, f, "available", "mail"); n != 21 {
		t.Fatalf("%d available while paused, want 21", n)
	}

	browsertest.Do(t, ctx, "resume", chromedp.Navigate(srv.URL+"/queue?name=mail"), chromedp.Click(chromedp.CSS(`#resume`)), chromedp.WaitVisible(chromedp.CSS(`#pause`)))
	browsertest.Do(t, ctx, "overview", chromedp.Navigate(srv.URL+"/"))
	waitText(t, ctx, "the queue to drain", `#queues tr[data-queue="mail"] td[data-col="available"]`, func(s string) bool { return s == "1" })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserShowsHostileTextLiterally opens every page that shows the task
// whose payload, error and receiver hold script and markup, and checks that
// no script ran (no dialog opened) and the text is shown as it is.
func TestBrowserShowsHostileTextLiterally(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	id := strconv.FormatInt(f.hostile, 10)
	browsertest.Do(t, ctx, "task page",
		chromedp.Navigate(srv.URL+"/task?id="+id),
		chromedp.Sleep(300*time.Millisecond), // an onerror handler would have fired by now
	)
	receiver := browsertest.Get(t, ctx, "receiver", chromedp.TextContent(chromedp.CSS(`#receiver`)))
	payload := browsertest.Get(t, ctx, "payload", chromedp.TextContent(chromedp.CSS(`#payload`)))
	errText := browsertest.Get(t, ctx, "error", chromedp.TextContent(chromedp.CSS(`.error-text`)))
	if want := "mail" + xssScript + xssAttr; receiver != want {
		t.Errorf("receiver shown as %q, want %q", receiver, want)
	}
	if !strings.Contains(payload, xssScript) || !strings.Contains(payload, `onerror=alert(1)`) || !strings.Contains(errText, xssScript+xssAttr) {
		t.Errorf("payload %q / error %q: want the hostile text shown literally", payload, errText)
	}
	for _, path := range []string{"/tasks", "/tasks?state=dead", "/", "/queue?name=mail"} {
		browsertest.Do(t, ctx, path, chromedp.Navigate(srv.URL+path), chromedp.Sleep(200*time.Millisecond))
		if imgs := browsertest.Get(t, ctx, "injected elements", chromedp.Evaluate[int](`document.querySelectorAll("img, main script").length`)); imgs != 0 {
			t.Errorf("%s: %d injected elements", path, imgs)
		}
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d script dialogs opened", n)
	}
}

// TestBrowserForgedPostFromAnotherOrigin has the browser, which holds the
// dashboard's cookie, open a page of another origin that posts a discard
// to the dashboard: it gets 403 and the task stays.
func TestBrowserForgedPostFromAnotherOrigin(t *testing.T) {
	ctx := browsertest.New(t)
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/action">
<input name="action" value="discard"><input name="id" value="%d"><input name="csrf" value="%s"></form>
<script>document.getElementById("f").submit()</script>`, srv.URL, f.dead, strings.Repeat("0", 64))
	}))
	defer evil.Close()
	browsertest.Do(t, ctx, "forged post",
		chromedp.Navigate(srv.URL+"/task?id="+strconv.FormatInt(f.dead, 10)), // the browser gets its cookie
		chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)),
		chromedp.Sleep(time.Second), // the form posts itself
	)
	body := browsertest.Get(t, ctx, "answer", chromedp.TextContent(chromedp.CSS(`body`)))
	if !strings.Contains(body, "forbidden") {
		t.Errorf("the forged POST was answered with %q, want 403 forbidden", body)
	}
	if task, err := signalrt.GetTask(context.Background(), f.pool, f.dead); err != nil || task.State != signalrt.StateDead {
		t.Errorf("the forged POST changed the task: %+v, %v", task, err)
	}
}
