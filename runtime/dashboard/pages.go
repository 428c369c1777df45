package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// queueRow is one queue of the overview.
type queueRow struct {
	signalrt.QueueStats
	Lag          string
	DoneLastHour int64
	Workers      int // live workers that run the queue
}

// liveWorkers returns how many live workers run each queue, and the limit
// of each receiver that a live worker has (the first it finds).
func liveWorkers(ws []signalrt.WorkerInfo) (perQueue map[string]int, limits map[string]signalrt.Limit) {
	perQueue, limits = map[string]int{}, map[string]signalrt.Limit{}
	for _, w := range ws {
		if !w.Live {
			continue
		}
		for _, q := range w.Queues {
			perQueue[q]++
		}
		for key, r := range w.Receivers {
			if _, ok := limits[key]; !ok && r.Limit != nil {
				limits[key] = *r.Limit
			}
		}
	}
	return perQueue, limits
}

type overviewPage struct {
	Queues  []queueRow
	Workers []signalrt.WorkerInfo
	Chart   chart
	At      string
}

// queueFigures are what the overview shows of the queues, shared between
// requests (see shared): every queue's counts, lag and pause state, the
// throughput of the chart's minutes, the registered workers.
type queueFigures struct {
	queues  []signalrt.QueueStats
	since   time.Time
	points  []signalrt.MinuteStats
	workers []signalrt.WorkerInfo
}

func (h *Handler) loadFigures(ctx context.Context) (queueFigures, error) {
	var f queueFigures
	var err error
	if f.queues, err = signalrt.QueueOverview(ctx, h.db); err != nil {
		return f, err
	}
	if f.since, f.points, err = signalrt.Throughput(ctx, h.db, chartMinutes); err != nil {
		return f, err
	}
	f.workers, err = signalrt.Workers(ctx, h.db)
	return f, err
}

// figures returns the shared queue figures.
func (h *Handler) figures(ctx context.Context) (queueFigures, error) {
	return h.queues.get(ctx, h.loadFigures, func(err error) {
		h.log.Error("dashboard: reading the queues' figures failed", "err", err)
	})
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "partial", "done"); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	f, err := h.figures(r.Context())
	if err != nil {
		h.failed(w, r, err)
		return
	}
	qs, since, points, workers := f.queues, f.since, f.points, f.workers
	done := map[string]int64{}
	for _, p := range points {
		done[p.Queue] += p.Succeeded
	}
	perQueue, _ := liveWorkers(workers)
	rows := make([]queueRow, 0, len(qs))
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Queue] = true
		rows = append(rows, queueRow{QueueStats: q, Lag: lag(q.Lag), DoneLastHour: done[q.Queue], Workers: perQueue[q.Queue]})
	}
	for queue, n := range done { // queues whose tasks all finished (and were deleted)
		if !seen[queue] {
			seen[queue] = true
			rows = append(rows, queueRow{QueueStats: signalrt.QueueStats{Queue: queue}, Lag: lag(0), DoneLastHour: n, Workers: perQueue[queue]})
		}
	}
	for queue, n := range perQueue { // queues that live workers run, idle
		if !seen[queue] {
			rows = append(rows, queueRow{QueueStats: signalrt.QueueStats{Queue: queue}, Lag: lag(0), Workers: n})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Queue < rows[j].Queue })
	h.render(w, r, http.StatusOK, "overview", "overview", "Overview", overviewPage{
		Queues: rows, Workers: workers, Chart: newChart(since, points), At: time.Now().Format("15:04:05"),
	})
}

func lag(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return d.Round(time.Millisecond).String()
}

// onlyParams answers whether the query has only the given parameters.
func onlyParams(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("unknown parameter %q; this page takes %s", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

type tasksPage struct {
	Query  signalrt.TaskQuery
	States []signalrt.TaskState
	signalrt.TaskPage
	Older template.URL // the next page, relative to the mount point; "" on the last
}

// taskQuery parses the tasks page's filters, with what each allows.
func taskQuery(r *http.Request) (signalrt.TaskQuery, error) {
	if err := onlyParams(r, "state", "queue", "signal", "receiver", "error", "min_id", "max_id", "before", "limit", "done"); err != nil {
		return signalrt.TaskQuery{}, err
	}
	v := r.URL.Query()
	q := signalrt.TaskQuery{
		State: signalrt.TaskState(v.Get("state")), Queue: v.Get("queue"), Signal: v.Get("signal"), Receiver: v.Get("receiver"), ErrorContains: v.Get("error"),
		Limit: 50,
	}
	ids := []struct {
		name string
		dst  *int64
	}{{"min_id", &q.MinID}, {"max_id", &q.MaxID}, {"before", &q.BeforeID}}
	for _, p := range ids {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return q, fmt.Errorf("%s %q: want a task id, a whole number of 1 or more", p.name, s)
			}
			*p.dst = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > signalrt.MaxSearchLimit {
			return q, fmt.Errorf("limit %q: want a whole number from 1 to %d", s, signalrt.MaxSearchLimit)
		}
		q.Limit = n
	}
	return q, q.Validate()
}

func (h *Handler) tasks(w http.ResponseWriter, r *http.Request) {
	q, err := taskQuery(r)
	if err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	page, err := signalrt.SearchTasks(r.Context(), h.db, q)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	p := tasksPage{Query: q, States: signalrt.States, TaskPage: page}
	if page.Next != 0 {
		next := r.URL.Query()
		next.Del("done")
		next.Set("before", strconv.FormatInt(page.Next, 10))
		// A URL of our own making from parameters already checked: the
		// template must not escape its query as a whole.
		p.Older = template.URL("tasks?" + next.Encode())
	}
	h.render(w, r, http.StatusOK, "tasks", "tasks", "Tasks", p)
}

type taskPage struct {
	Task                            signalrt.Task
	Payload                         string
	PayloadCut                      bool
	CanRetry, CanDiscard, CanRunNow bool
}

// Bounds of a task page's payload (see signalrt.PayloadPreview); the
// payload page serves it whole, as stored.
const (
	payloadLines = 500
	payloadWidth = 300
)

// payload serves a task's payload as stored.
func (h *Handler) payload(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "id"); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	id, err := idParam(r, r.URL.Query())
	if err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	t, err := signalrt.GetTask(r.Context(), h.db, id)
	if errors.Is(err, signalrt.ErrTaskNotFound) {
		h.render(w, r, http.StatusNotFound, "error", "", "Not found", fmt.Sprintf("There is no task %d.", id))
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(t.Payload)
}

// idParam parses the required id parameter.
func idParam(r *http.Request, v url.Values) (int64, error) {
	s := v.Get("id")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("id %q: want a task id, a whole number of 1 or more", s)
	}
	return n, nil
}

func (h *Handler) task(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "id", "done"); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	id, err := idParam(r, r.URL.Query())
	if err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	t, err := signalrt.GetTask(r.Context(), h.db, id)
	if errors.Is(err, signalrt.ErrTaskNotFound) {
		h.render(w, r, http.StatusNotFound, "error", "", "Not found", fmt.Sprintf("There is no task %d: it never existed, or it succeeded and was deleted, or it was discarded.", id))
		return
	}
	if err != nil {
		h.failed(w, r, err)
		return
	}
	payloadText, payloadCut := signalrt.PayloadPreview(t.Payload, payloadLines, payloadWidth)
	h.render(w, r, http.StatusOK, "task", "tasks", fmt.Sprintf("Task %d", t.ID), taskPage{
		Task: t, Payload: payloadText, PayloadCut: payloadCut,
		CanRetry:   signalrt.ActionRetry.Applies(t.State),
		CanDiscard: signalrt.ActionDiscard.Applies(t.State),
		CanRunNow:  signalrt.ActionRunNow.Applies(t.State) && t.RunAt.After(time.Now()),
	})
}

type queuePage struct {
	Queue     signalrt.QueueStats
	Receivers []receiverRow
	Lag       string
	Workers   int
}

// receiverRow is a receiver of a queue's page.
type receiverRow struct {
	signalrt.ReceiverCounts
	Limit string // as the directive's options say it; "" for none
}

func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r, "name", "done"); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		h.badRequest(w, r, "name: want the name of a queue")
		return
	}
	f, err := h.figures(r.Context())
	if err != nil {
		h.failed(w, r, err)
		return
	}
	p := queuePage{Queue: signalrt.QueueStats{Queue: name}}
	for _, q := range f.queues {
		if q.Queue == name {
			p.Queue = q
		}
	}
	p.Lag = lag(p.Queue.Lag)
	counts, err := signalrt.QueueReceivers(r.Context(), h.db, name)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	workers := f.workers
	perQueue, limits := liveWorkers(workers)
	p.Workers = perQueue[name]
	known := map[string]bool{}
	for _, c := range counts {
		known[c.Receiver] = true
		p.Receivers = append(p.Receivers, receiverRow{ReceiverCounts: c, Limit: limits[c.Receiver].String()})
	}
	for _, w := range workers { // receivers of the queue without tasks now
		for key, rc := range w.Receivers {
			if w.Live && rc.Queue == name && !known[key] {
				known[key] = true
				p.Receivers = append(p.Receivers, receiverRow{ReceiverCounts: signalrt.ReceiverCounts{Receiver: key}, Limit: limits[key].String()})
			}
		}
	}
	sort.Slice(p.Receivers, func(i, j int) bool { return p.Receivers[i].Receiver < p.Receivers[j].Receiver })
	h.render(w, r, http.StatusOK, "queue", "overview", "Queue "+name, p)
}

// action runs one POSTed action and redirects to the page it was about.
func (h *Handler) action(w http.ResponseWriter, r *http.Request) {
	if h.opts.ReadOnly {
		http.Error(w, "read-only dashboard: actions are off", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, "the form does not parse: "+err.Error())
		return
	}
	if err := checkParams(r.PostForm.Encode()); err != nil {
		h.badRequest(w, r, err.Error())
		return
	}
	if !h.checkCSRF(r) {
		http.Error(w, "forbidden: missing or wrong CSRF token (reload the page and try again)", http.StatusForbidden)
		return
	}
	ctx := r.Context()
	defer h.queues.forget() // the next page shows what the action changed
	act := r.PostFormValue("action")
	switch act {
	case "retry", "discard", "run-now":
		id, err := idParam(r, r.PostForm)
		if err != nil {
			h.badRequest(w, r, err.Error())
			return
		}
		var n int64
		switch act {
		case "retry":
			n, err = signalrt.Retry(ctx, h.db, id)
		case "discard":
			n, err = signalrt.Discard(ctx, h.db, id)
		default:
			n, err = signalrt.RunNow(ctx, h.db, id)
		}
		if err != nil {
			h.failed(w, r, err)
			return
		}
		msg := act + ":" + strconv.FormatInt(n, 10)
		if act == "discard" && n == 1 {
			h.redirect(w, r, "tasks", url.Values{"done": {msg}})
			return
		}
		h.redirect(w, r, "task", url.Values{"id": {strconv.FormatInt(id, 10)}, "done": {msg}})
	case "pause", "resume":
		queue := r.PostFormValue("queue")
		if queue == "" {
			h.badRequest(w, r, "queue: want the name of a queue")
			return
		}
		var err error
		if act == "pause" {
			var known bool
			if known, err = h.knownQueue(ctx, queue); err == nil && !known {
				h.badRequest(w, r, fmt.Sprintf("queue %q: no task, worker or receiver uses it; the dashboard pauses known queues only (signalctl pause -force pauses others)", queue))
				return
			}
			if err == nil {
				err = signalrt.PauseQueue(ctx, h.db, queue)
			}
		} else {
			_, err = signalrt.ResumeQueue(ctx, h.db, queue)
		}
		if err != nil {
			h.failed(w, r, err)
			return
		}
		h.redirect(w, r, "queue", url.Values{"name": {queue}, "done": {act}})
	default:
		h.badRequest(w, r, fmt.Sprintf("action %q: want one of retry, discard, run-now, pause, resume", act))
	}
}

// redirect sends the browser to one of the dashboard's own pages (never to
// an address taken from the request).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, page string, v url.Values) {
	http.Redirect(w, r, base(r)+page+"?"+v.Encode(), http.StatusSeeOther)
}

// chartMinutes is how many minutes the overview's chart shows.
const chartMinutes = 60

// chart is the overview's throughput chart: stacked bars per minute,
// computed here so that the SVG holds nothing but numbers and class names.
type chart struct {
	Width, Height int
	Peak          int64
	Bars          []bar
}

type bar struct {
	Class      string
	X, Y, W, H float64
	Title      string
}

func newChart(since time.Time, points []signalrt.MinuteStats) chart {
	const width, height, slot = 600, 150, 10
	type minute struct{ succeeded, failed, dead int64 }
	per := make([]minute, chartMinutes)
	for _, p := range points {
		i := int(p.Minute.Sub(since) / time.Minute)
		if i < 0 || i >= chartMinutes {
			continue
		}
		per[i].succeeded += p.Succeeded
		per[i].failed += p.Failed
		per[i].dead += p.Dead
	}
	c := chart{Width: width, Height: height}
	for _, m := range per {
		c.Peak = max(c.Peak, m.succeeded+m.failed+m.dead)
	}
	if c.Peak == 0 {
		return c
	}
	scale := float64(height-10) / float64(c.Peak)
	for i, m := range per {
		y := float64(height)
		at := since.Add(time.Duration(i) * time.Minute).Format("15:04")
		for _, part := range []struct {
			class string
			n     int64
		}{{"succeeded", m.succeeded}, {"failed", m.failed}, {"dead", m.dead}} {
			if part.n == 0 {
				continue
			}
			h := float64(part.n) * scale
			y -= h
			c.Bars = append(c.Bars, bar{Class: part.class, X: float64(i * slot), Y: y, W: slot - 1, H: h, Title: fmt.Sprintf("%s: %d %s", at, part.n, part.class)})
		}
	}
	return c
}

// flash returns the message of an action's result, from the done parameter
// that the action's redirect set: the action and, for task actions, how many
// tasks it changed. The page shows only messages it makes itself, so that a
// link cannot put words of its own on the dashboard.
func flash(done string) string {
	act, count, _ := strings.Cut(done, ":")
	n, err := strconv.Atoi(count)
	switch {
	case act == "pause" && count == "":
		return "Paused: no worker claims from this queue until it is resumed."
	case act == "resume" && count == "":
		return "Resumed: the workers were woken."
	case err != nil || n < 0:
		return ""
	case act == "retry":
		return fmt.Sprintf("Retried: %d task made available now.", n)
	case act == "discard":
		return fmt.Sprintf("Discarded: %d dead task deleted.", n)
	case act == "run-now":
		return fmt.Sprintf("Run now: %d waiting task made due.", n)
	}
	return ""
}

// knownQueue reports whether a queue has tasks or a pause, or is run by a
// registered worker, or is the queue of a receiver that a worker ran.
func (h *Handler) knownQueue(ctx context.Context, name string) (bool, error) {
	qs, err := signalrt.QueueOverview(ctx, h.db)
	if err != nil {
		return false, err
	}
	for _, q := range qs {
		if q.Queue == name {
			return true, nil
		}
	}
	rs, err := signalrt.KnownReceivers(ctx, h.db)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.Queue == name {
			return true, nil
		}
	}
	ws, err := signalrt.Workers(ctx, h.db)
	if err != nil {
		return false, err
	}
	for _, w := range ws {
		if slices.Contains(w.Queues, name) {
			return true, nil
		}
	}
	return false, nil
}
