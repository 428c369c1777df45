package dashboard_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// TestHostsRefuseRebinding: with Options.Hosts, a request for another name
// (a page of another site whose name now resolves to the dashboard) gets
// 421 and nothing; the names it is served under work, in any case.
func TestHostsRefuseRebinding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{Hosts: []string{"localhost:8080", "ops.example.com"}}))
	defer srv.Close()
	for host, want := range map[string]int{"rebind.test:18931": 421, "LOCALHOST:8080": 200, "ops.example.com": 200, "": 421} {
		req, _ := http.NewRequest("GET", srv.URL+"/task?id="+itoa(f.dead), nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestLinksComeFromTheMountPathOnly: an absolute-form request line names
// another host; the page's links, stylesheet, script, form and cookie path
// and the redirect of an action stay on the dashboard's own paths.
func TestLinksComeFromTheMountPathOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	raw := func(request string) string {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, request)
		var b strings.Builder
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil || strings.Contains(b.String(), "</html>") {
				break
			}
		}
		return b.String()
	}
	page := raw("GET http://evil.example/task?id=" + itoa(f.dead) + " HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	if strings.Contains(page, "evil.example") || !strings.Contains(page, `href="/static/style.css"`) || !strings.Contains(page, `action="/action"`) {
		t.Errorf("an absolute-form request made links elsewhere:\n%s", page)
	}
	if m := regexp.MustCompile(`(?i)set-cookie:[^\r\n]*path=([^;\r\n]*)`).FindStringSubmatch(page); m == nil || m[1] != "/" {
		t.Errorf("cookie path %v, want /", m)
	}
}

// TestForgedTokensAndOriginsAreRefused: a token the client made itself
// (cookie and form alike, as a page of a sibling domain could set), and a
// POST whose Origin is another site, get 403 and change nothing.
func TestForgedTokensAndOriginsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	_, page, _ := get(t, c, srv.URL+"/task?id="+itoa(f.dead))
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no token on the task page")
	}
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	forged := hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
	post := func(token, cookie, origin string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/action", strings.NewReader(url.Values{"action": {"discard"}, "id": {itoa(f.dead)}, "csrf": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "signals_csrf", Value: cookie})
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(forged, forged, ""); code != 403 {
		t.Errorf("a self-made token: %d, want 403", code)
	}
	if code := post(m[1], m[1], "http://127.0.0.1:1"); code != 403 {
		t.Errorf("the right token from another origin: %d, want 403", code)
	}
	if code := post(m[1], m[1], "null"); code != 403 { // a sandboxed frame, a data: URL
		t.Errorf("the right token from an opaque origin: %d, want 403", code)
	}
	if _, err := signalrt.GetTask(context.Background(), f.pool, f.dead); err != nil {
		t.Fatalf("the task is gone after refused posts: %v", err)
	}
	if code := post(m[1], m[1], srv.URL); code != http.StatusSeeOther {
		t.Errorf("the right token from the dashboard's origin: %d, want 303", code)
	}
}

// TestNULAndInvalidUTF8Get400: in the query or in a form.
func TestNULAndInvalidUTF8Get400(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for _, path := range []string{"/tasks?queue=%00", "/tasks?queue=%FF%FE", "/queue?name=%00", "/tasks?receiver=a%00b"} {
		if code, body, _ := get(t, c, srv.URL+path); code != 400 || !strings.Contains(body, "NUL byte or invalid UTF-8") {
			t.Errorf("GET %s: %d, want 400\n%s", path, code, body)
		}
	}
	_, page, _ := get(t, c, srv.URL+"/queue?name=mail")
	m := csrfField.FindStringSubmatch(page)
	req, _ := http.NewRequest("POST", srv.URL+"/action", strings.NewReader("action=pause&queue=%00&csrf="+url.QueryEscape(m[1])))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("POST with a NUL: %d, want 400", resp.StatusCode)
	}
}

// TestOlderLinkPagesAndDamagedRowsShow follows the tasks page's "Older"
// link to the end, and lists a task whose error history is damaged as
// damaged, with the others.
func TestOlderLinkPagesAndDamagedRowsShow(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	for i := range 7 {
		if err := signalrt.Send(ctx, pool, "s", []signalrt.Route{{Receiver: "r", Queue: "q"}}, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.Exec(t, pool, `UPDATE signal_task SET state = 'dead', finished_at = now(), errors = '{"oops": 1}' WHERE id = 4`)
	srv := httptest.NewServer(dashboard.New(pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	older := regexp.MustCompile(`<a id="older" href="([^"]+)"`)
	next := srv.URL + "/tasks?queue=q&limit=3"
	var rows int
	for pages := 0; next != ""; pages++ {
		code, body, _ := get(t, c, next)
		if code != 200 || pages > 5 {
			t.Fatalf("GET %s: %d (page %d)\n%s", next, code, pages, body)
		}
		rows += strings.Count(body, "<tr data-id=")
		if strings.Contains(body, `data-id="4"`) && !strings.Contains(body, "damaged") {
			t.Errorf("task 4 is not shown as damaged:\n%s", body)
		}
		next = ""
		if m := older.FindStringSubmatch(body); m != nil {
			next = srv.URL + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if rows != 7 {
		t.Errorf("following Older listed %d tasks, want 7", rows)
	}
}

// TestDeepPayloadIsBounded: a 10 KB payload of 5,000 nested arrays would
// indent to 50 MB; the task page cuts it, and the payload page serves it
// as stored.
func TestDeepPayloadIsBounded(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	nested := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	if err := signalrt.Send(context.Background(), pool, "s", []signalrt.Route{{Receiver: "r"}}, json.RawMessage(nested)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dashboard.New(pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	code, page, _ := get(t, c, srv.URL+"/task?id=1")
	if code != 200 || len(page) > 200_000 || !strings.Contains(page, "cut to fit this page") {
		t.Errorf("task page of a deep payload: %d, %d bytes", code, len(page))
	}
	if code, raw, hdr := get(t, c, srv.URL+"/payload?id=1"); code != 200 || raw != nested || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("payload page: %d, %d bytes, %s; want the payload as stored, as text", code, len(raw), hdr.Get("Content-Type"))
	}
}

// TestQueueStatusAndLimits: a queue that no live worker runs says so, and
// a queue's page shows its receivers' limits from the live workers.
func TestQueueStatusAndLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	if _, body, _ := get(t, c, srv.URL+"/"); !strings.Contains(body, "no live worker") {
		t.Errorf("overview without workers: no \"no live worker\"\n%s", body)
	}
	table := signalrt.Table{{Key: "mail", Signal: "order_placed", Queue: "mail", Limit: signalrt.Limit{Concurrency: 3, Rate: 10}, Handle: func(context.Context, []byte) error { return nil }}}
	w, err := signalrt.NewWorker(f.pool, table, signalrt.Config{PollInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { stop(); <-done }()
	for deadline := time.Now().Add(time.Minute); ; {
		_, body, _ := get(t, c, srv.URL+"/queue?name=mail")
		if strings.Contains(body, "concurrency=3 rate=10/s") && strings.Contains(body, `badge running`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue page with a live, limited worker:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStaticIsNotListedAndUnknownQueuesAreNotPaused: /static/ lists
// nothing; the dashboard pauses only queues that something uses.
func TestStaticIsNotListedAndUnknownQueuesAreNotPaused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for path, want := range map[string]int{"/static/": 404, "/static/style.css": 200} {
		if code, _, _ := get(t, c, srv.URL+path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	_, page, _ := get(t, c, srv.URL+"/queue?name=mail")
	m := csrfField.FindStringSubmatch(page)
	for queue, want := range map[string]int{"nosuchqueue": 400, "mail": http.StatusSeeOther} {
		req, _ := http.NewRequest("POST", srv.URL+"/action", strings.NewReader(url.Values{"action": {"pause"}, "queue": {queue}, "csrf": {m[1]}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("pause %s: %d, want %d", queue, resp.StatusCode, want)
		}
	}
}
