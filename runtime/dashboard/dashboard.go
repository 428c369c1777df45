// Package dashboard is the web dashboard of reliable signals: an
// http.Handler that shows the queues (counts, lag, throughput, pause
// state), the live workers and the tasks with their payloads and errors,
// and lets an operator retry, discard or run tasks now and pause or resume
// queues. `signalctl serve` serves it; a program can mount it too, under
// any path:
//
//	mux.Handle("/ops/signals/", http.StripPrefix("/ops/signals", dashboard.New(pool, dashboard.Options{
//		Authorize: func(r *http.Request) bool { return isAdmin(r) },
//	})))
//
// It is built to be reachable by more people than the database:
//
//   - Options.Authorize decides who may see it at all (403 otherwise), and
//     Options.ReadOnly removes every action.
//   - Actions are POST only, with a CSRF token that the handler signed
//     (a cookie, SameSite=Strict, that the form must repeat); a POST without
//     it, with a token the handler did not make, from another origin (the
//     Origin header), or that the browser marks as coming from another
//     site, gets 403 and changes nothing.
//   - Everything a task carries (payload, errors, stacks, signal, receiver
//     and queue names) is escaped by html/template; a Content-Security-Policy
//     allows scripts, styles and images from the dashboard itself only.
//   - Bad query parameters get a 400 page that says what is allowed; a NUL
//     byte or invalid UTF-8 in a parameter too.
//   - Options.Hosts limits the Host headers it answers (DNS rebinding).
//   - Links and redirects are built from the path the handler is mounted
//     under, never from the request line's scheme or host.
//
// The page works offline: its one stylesheet and one small script are
// embedded, and nothing loads from elsewhere.
package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// Options configure the dashboard.
type Options struct {
	// Authorize, when set, is asked for every request; a request it
	// refuses gets 403. Without it, everyone who reaches the handler may
	// use it: mount it behind your own authentication.
	Authorize func(*http.Request) bool
	// ReadOnly removes the actions: no retry, discard, run-now, pause or
	// resume, on the page or by POST.
	ReadOnly bool
	// Hosts, when set, are the only Host headers the dashboard answers
	// ("localhost:8080", "ops.example.com"); others get 421. A page of
	// another site whose name resolves to the dashboard's address (DNS
	// rebinding) is refused so. signalctl serve sets them for a loopback
	// listener. Compared ignoring case.
	Hosts []string
	// Logger receives errors of the database (default slog.Default()).
	Logger *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// csrfCookie is the name of the cookie that holds a browser's CSRF token.
const csrfCookie = "signals_csrf"

// contentSecurityPolicy allows nothing from elsewhere and no inline script.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Handler is the dashboard; see the package doc. Create it with [New].
type Handler struct {
	db signalrt.Executor
	// queues are the overview's figures, shared between requests (see
	// shared); heavySlots limits the pages that search or count.
	queues     shared[queueFigures]
	heavySlots chan struct{}
	secret     []byte // signs CSRF tokens
	opts       Options
	log        *slog.Logger
	pages      map[string]*template.Template
	static     http.Handler
	mux        *http.ServeMux
}

// New returns the dashboard over the tasks in db (a pool, normally; its
// search_path decides the schema).
func New(db signalrt.Executor, opts Options) *Handler {
	h := &Handler{db: db, opts: opts, log: opts.Logger, pages: map[string]*template.Template{}, secret: make([]byte, 32),
		heavySlots: make(chan struct{}, heavyPages)}
	_, _ = rand.Read(h.secret)
	if h.log == nil {
		h.log = slog.Default()
	}
	funcs := template.FuncMap{
		"join":      strings.Join,
		"ago":       ago,
		"lastError": lastError,
	}
	for _, page := range []string{"overview", "tasks", "task", "queue", "error"} {
		h.pages[page] = template.Must(template.New(page).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	files := http.FileServer(http.FS(assets))
	h.static = http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // the assets, not a listing of them
			return
		}
		files.ServeHTTP(w, r)
	}))
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /tasks", h.heavy(h.tasks))
	h.mux.HandleFunc("GET /task", h.task)
	h.mux.HandleFunc("GET /payload", h.payload)
	h.mux.HandleFunc("GET /queue", h.heavy(h.queue))
	h.mux.HandleFunc("POST /action", h.action)
	h.mux.Handle("GET /static/", h.static)
	return h
}

// ServeHTTP serves the dashboard: security headers on every answer, the
// Authorize hook first.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer a browser sends "Origin: null"
	// on the dashboard's own POSTs, which checkCSRF must refuse.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	if len(h.opts.Hosts) > 0 && !h.knownHost(r.Host) {
		http.Error(w, "misdirected request: this dashboard does not answer for host "+strconv.Quote(r.Host), http.StatusMisdirectedRequest)
		return
	}
	if h.opts.Authorize != nil && !h.opts.Authorize(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if err := checkParams(r.URL.RawQuery); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	h.mux.ServeHTTP(w, r)
}

// knownHost reports whether host is one of Options.Hosts.
func (h *Handler) knownHost(host string) bool {
	for _, ok := range h.opts.Hosts {
		if strings.EqualFold(host, ok) {
			return true
		}
	}
	return false
}

// checkParams refuses a query whose names or values hold a NUL byte or
// invalid UTF-8, which no task, queue or filter can: they get 400 rather
// than a database error.
func checkParams(rawQuery string) error {
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("the query does not parse: %v", err)
	}
	for k, vals := range v {
		for _, s := range append(vals, k) {
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
				return fmt.Errorf("parameter %s: a NUL byte or invalid UTF-8; parameters are UTF-8 text", strconv.QuoteToASCII(k))
			}
		}
	}
	return nil
}

// base returns the path under which the dashboard is mounted, ending in
// "/": the path of the request's original target less the path the
// handler sees. Only the path: an absolute-form request line
// ("GET http://elsewhere.example/tasks") must not make links point
// elsewhere.
func base(r *http.Request) string {
	orig := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		orig = u.Path
	}
	prefix := strings.TrimSuffix(orig, r.URL.Path)
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	return strings.TrimSuffix(prefix, "/") + "/"
}

// view is what every page template gets.
type view struct {
	Title    string
	Nav      string
	Base     string
	ReadOnly bool
	CSRF     string
	Flash    string
	Page     any
}

// render writes a page, or only its refreshable part when partial.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, nav, title string, data any) {
	v := view{Title: title, Nav: nav, Base: base(r), ReadOnly: h.opts.ReadOnly, Flash: flash(r.URL.Query().Get("done")), Page: data}
	if !h.opts.ReadOnly {
		v.CSRF = h.csrfToken(w, r)
	}
	name := "layout"
	if page == "overview" && r.URL.Query().Get("partial") == "1" {
		name = "overview-box"
	}
	var buf strings.Builder
	err := h.pages[page].ExecuteTemplate(&buf, name, v)
	if err != nil {
		h.log.Error("dashboard: rendering failed", "page", page, "err", err)
		http.Error(w, "rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// badRequest answers 400 with a page that says what is wrong and what is
// allowed.
func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	h.render(w, r, http.StatusBadRequest, "error", "", "Bad request", msg)
}

// failed answers 500 for a database error, logging it; the page does not
// show the error, which may say more about the database than the viewer
// may know.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.log.Error("dashboard: database error", "path", r.URL.Path, "err", err)
	h.render(w, r, http.StatusInternalServerError, "error", "", "Error", "The database did not answer as expected; the error is in the server's log.")
}

// csrfToken returns the browser's CSRF token, setting the cookie that holds
// it when the browser has none that this handler signed. A token is a
// random nonce and its HMAC under the handler's secret: a cookie that a
// client (or a page of a sibling domain) set itself does not pass.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && h.validToken(c.Value) {
		return c.Value
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	tok := hex.EncodeToString(nonce) + "." + hex.EncodeToString(h.mac(nonce))
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: base(r), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return tok
}

func (h *Handler) mac(nonce []byte) []byte {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("signals-dashboard-csrf\x00"))
	m.Write(nonce)
	return m.Sum(nil)
}

// validToken reports whether s is a token this handler made.
func (h *Handler) validToken(s string) bool {
	n, sum, ok := strings.Cut(s, ".")
	if !ok || len(n) != 32 || len(sum) != 64 {
		return false
	}
	nonce, err1 := hex.DecodeString(n)
	got, err2 := hex.DecodeString(sum)
	return err1 == nil && err2 == nil && hmac.Equal(got, h.mac(nonce))
}

// checkCSRF reports whether a POST carries a token this handler made, in
// its cookie and in the form, and comes from the dashboard's own origin:
// the Origin header, when the browser sends one, names the request's host,
// and the browser does not mark it as coming from another site.
func (h *Handler) checkCSRF(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !h.validToken(c.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// ago formats a duration for "last heartbeat" columns.
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%.1fh ago", d.Hours())
}

// lastError returns the first line of a task's last error, cut short.
func lastError(t signalrt.Task) string {
	if t.Damaged != "" {
		return "(damaged: " + t.Damaged + ")"
	}
	s, _, _ := strings.Cut(t.LastError, "\n")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}
