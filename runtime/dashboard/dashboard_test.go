package dashboard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
	"github.com/reliablesignals/signals/runtime/dashboard"
)

// Attacker-controlled text, stored in tasks' payloads, errors and names.
const (
	xssScript = `<script>alert(1)</script>`
	xssAttr   = `"><img src=x onerror=alert(1)>`
)

// fixture is a schema with tasks: two dead ones of receiver "mail" (one
// with hostile text everywhere), one available, one delayed.
type fixture struct {
	pool               *pgxpool.Pool
	dead, hostile, due int64
	delayed            int64
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	var f fixture
	send := func(receiver string, payload any, opts ...signalrt.SendOption) int64 {
		t.Helper()
		if err := signalrt.Send(ctx, pool, "order_placed", []signalrt.Route{{Receiver: receiver, Queue: "mail"}}, payload, opts...); err != nil {
			t.Fatal(err)
		}
		tsPage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{Limit: 1})
		ts := tsPage.Tasks
		if err != nil || len(ts) != 1 {
			t.Fatal(ts, err)
		}
		return ts[0].ID
	}
	f.dead = send("mail", map[string]any{"order_id": 1})
	f.hostile = send("mail"+xssScript+xssAttr, map[string]any{"note": xssScript + xssAttr})
	f.due = send("mail", map[string]any{"order_id": 3})
	f.delayed = send("mail", map[string]any{"order_id": 4}, signalrt.After(3600e9))
	pgtest.Exec(t, pool, `UPDATE signal_task SET state = 'dead', finished_at = now(),
		errors = jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'worker', 'w', 'error', 'declined: ' || $1::text))
		WHERE id IN ($2, $3)`, xssScript+xssAttr, f.dead, f.hostile)
	f.pool = pool
	return f
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{32}\.[0-9a-f]{64})"`)

func TestPagesEscapeEverythingAndSetHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for _, path := range []string{"/", "/?partial=1", "/tasks", "/tasks?state=dead", "/task?id=" + itoa(f.hostile), "/queue?name=mail"} {
		code, body, hdr := get(t, c, srv.URL+path)
		if code != 200 {
			t.Errorf("GET %s: %d\n%s", path, code, body)
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s: hostile text unescaped:\n%s", path, body)
		}
	}
	_, body, _ := get(t, c, srv.URL+"/task?id="+itoa(f.hostile))
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", `id="retry"`, `id="discard"`, `<dd id="priority">0</dd>`} {
		if !strings.Contains(body, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
	if _, body, _ := get(t, c, srv.URL+"/tasks?state=dead"); strings.Count(body, `<tr data-id=`) != 2 {
		t.Errorf("dead tasks: want 2 rows\n%s", body)
	}
}

// TestPendingSendsShow: the tasks of a send made in BeginFunc, which no
// worker has fanned out (none runs here), show on the overview and the
// queue's page.
func TestPendingSendsShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := signalrt.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		return signalrt.Send(ctx, tx, "order_placed", []signalrt.Route{{Receiver: "a", Queue: "mail"}, {Receiver: "b", Queue: "mail"}}, map[string]any{"order_id": 5})
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for _, path := range []string{"/", "/queue?name=mail"} {
		if _, body, _ := get(t, c, srv.URL+path); !strings.Contains(body, "2 waiting for fan-out") {
			t.Errorf("GET %s: no pending tasks shown\n%s", path, body)
		}
	}
}

func TestBadParametersGet400(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for path, want := range map[string]string{
		"/tasks?state=finished":    "unknown state &#34;finished&#34;; valid states are available, running, succeeded, dead",
		"/tasks?limit=-1":          "limit &#34;-1&#34;: want a whole number from 1 to 1000",
		"/tasks?limit=abc":         "limit &#34;abc&#34;: want a whole number from 1 to 1000",
		"/tasks?before=x":          "before &#34;x&#34;: want a task id",
		"/tasks?colour=red":        "unknown parameter &#34;colour&#34;",
		"/task?id=abc":             "id &#34;abc&#34;: want a task id",
		"/task":                    "id &#34;&#34;: want a task id",
		"/task?id=-5":              "id &#34;-5&#34;: want a task id",
		"/queue":                   "name: want the name of a queue",
		"/?x=" + xssScript:         "unknown parameter",
		"/tasks?min_id=5&max_id=2": "min id 5 is above max id 2",
	} {
		code, body, _ := get(t, c, srv.URL+path)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 400 with %q\n%s", path, code, want, body)
		}
	}
	if code, _, _ := get(t, c, srv.URL+"/task?id=987654"); code != http.StatusNotFound {
		t.Errorf("missing task: %d, want 404", code)
	}
}

func TestActionsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	_, page, _ := get(t, c, srv.URL+"/task?id="+itoa(f.dead))
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the task page:\n%s", page)
	}
	form := url.Values{"action": {"retry"}, "id": {itoa(f.dead)}}
	post := func(c *http.Client, v url.Values, hdr map[string]string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/action", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Forgeries: no token, a wrong token, the right token from another
	// site, the token without the browser's cookie.
	wrong := url.Values{"action": {"retry"}, "id": {itoa(f.dead)}, "csrf": {strings.Repeat("0", 64)}}
	right := url.Values{"action": {"retry"}, "id": {itoa(f.dead)}, "csrf": {m[1]}}
	for name, code := range map[string]int{
		"no token":            post(c, form, nil),
		"wrong token":         post(c, wrong, nil),
		"from another site":   post(c, right, map[string]string{"Sec-Fetch-Site": "cross-site"}),
		"without the cookie":  post(client(t), right, nil),
		"a GET to the action": getCode(t, c, srv.URL+"/action?"+right.Encode()),
	} {
		if code != http.StatusForbidden && code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 403 (or 405 for GET)", name, code)
		}
	}
	if task, _ := signalrt.GetTask(context.Background(), f.pool, f.dead); task.State != signalrt.StateDead {
		t.Fatalf("a forged POST changed the task: %+v", task)
	}
	if code := post(c, right, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther {
		t.Fatalf("retry with the token: %d, want 303", code)
	}
	if task, _ := signalrt.GetTask(context.Background(), f.pool, f.dead); task.State != signalrt.StateAvailable {
		t.Errorf("retry did not make the task available: %+v", task)
	}
	if code := post(c, url.Values{"action": {"explode"}, "csrf": {m[1]}}, nil); code != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", code)
	}
	for _, act := range []string{"pause", "resume"} {
		if code := post(c, url.Values{"action": {act}, "queue": {"mail"}, "csrf": {m[1]}}, nil); code != http.StatusSeeOther {
			t.Errorf("%s: %d, want 303", act, code)
		}
	}
}

func getCode(t *testing.T, c *http.Client, u string) int {
	code, _, _ := get(t, c, u)
	return code
}

func TestReadOnlyAndAuthorize(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ro := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{ReadOnly: true}))
	defer ro.Close()
	c := client(t)
	_, page, _ := get(t, c, ro.URL+"/task?id="+itoa(f.dead))
	if strings.Contains(page, "<form") && strings.Contains(page, `action="/action"`) || !strings.Contains(page, "read-only") {
		t.Errorf("read-only task page offers actions:\n%s", page)
	}
	req, _ := http.NewRequest("POST", ro.URL+"/action", strings.NewReader(url.Values{"action": {"discard"}, "id": {itoa(f.dead)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only POST: %d, want 403", resp.StatusCode)
	}

	authz := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{Authorize: func(r *http.Request) bool {
		return r.Header.Get("X-Admin") == "yes"
	}}))
	defer authz.Close()
	if code := getCode(t, c, authz.URL+"/"); code != http.StatusForbidden {
		t.Errorf("unauthorized GET: %d, want 403", code)
	}
	req, _ = http.NewRequest("GET", authz.URL+"/", nil)
	req.Header.Set("X-Admin", "yes")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("authorized GET: %v %v", resp.StatusCode, err)
	}
}

// TestMountedUnderAPrefix checks that links, assets and redirects keep the
// path the dashboard is mounted under.
func TestMountedUnderAPrefix(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/ops/signals/", http.StripPrefix("/ops/signals", dashboard.New(f.pool, dashboard.Options{})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client(t)
	code, body, _ := get(t, c, srv.URL+"/ops/signals/")
	if code != 200 || !strings.Contains(body, `href="/ops/signals/static/style.css"`) || !strings.Contains(body, `href="/ops/signals/tasks"`) {
		t.Fatalf("mounted overview: %d\n%s", code, body)
	}
	if code := getCode(t, c, srv.URL+"/ops/signals/static/app.js"); code != 200 {
		t.Errorf("mounted asset: %d", code)
	}
	_, page, _ := get(t, c, srv.URL+"/ops/signals/task?id="+itoa(f.dead))
	m := csrfField.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `action="/ops/signals/action"`) {
		t.Fatalf("mounted task page:\n%s", page)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/ops/signals/action", strings.NewReader(url.Values{"action": {"discard"}, "id": {itoa(f.dead)}, "csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ops/signals/tasks?") {
		t.Errorf("mounted discard: %d to %q", resp.StatusCode, loc)
	}
	if _, err := signalrt.GetTask(context.Background(), f.pool, f.dead); !errors.Is(err, signalrt.ErrTaskNotFound) {
		t.Errorf("discarded task: %v, want no rows", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFlashShowsOnlyItsOwnMessages checks that the done parameter of an
// action's redirect selects a message of the dashboard's own, and that any
// other text in it is not shown.
func TestFlashShowsOnlyItsOwnMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(dashboard.New(f.pool, dashboard.Options{}))
	defer srv.Close()
	c := client(t)
	for done, want := range map[string]string{
		"retry:1":                   "Retried: 1 task made available now.",
		"pause":                     "Paused: no worker claims from this queue",
		"Your account is suspended": "",
		"retry:x":                   "",
	} {
		_, body, _ := get(t, c, srv.URL+"/queue?name=mail&done="+url.QueryEscape(done))
		has := strings.Contains(body, `id="flash"`)
		if want == "" && (has || strings.Contains(body, "suspended")) || want != "" && !strings.Contains(body, want) {
			t.Errorf("done=%q: want flash %q\n%s", done, want, body)
		}
	}
}
