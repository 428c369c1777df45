// Package browsertest runs tests in a real headless Chromium, driven by
// chromedp.
//
// Locally, a test skips when no Chromium is installed, with a message that
// names the binary it looked for. In CI (the CI environment variable is
// set, as .ci/run runs), .ci/run installs Debian's chromium first, and a
// missing browser fails the test instead: browser tests never silently
// skip there.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browsers are the names Chromium goes by, in the order they are tried.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path returns the Chromium binary, or skips (locally) or fails (in CI)
// the test when there is none.
func Path(t testing.TB) string {
	t.Helper()
	for _, b := range browsers {
		if p, err := exec.LookPath(b); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH (looked for chromium, chromium-browser, google-chrome): install Debian's chromium (apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// New starts a headless Chromium for the test and returns a chromedp
// context on a new tab; the browser is closed when the test ends. More
// options (command-line flags, say) may follow.
func New(t testing.TB, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(t)),
		chromedp.NoSandbox, // tests run as root here
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Start the browser now, on a context without a timeout (the context
	// of the first call bounds the browser's life), so that a broken
	// install fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// bound is the limit of one step of a browser test: a bound on a slow,
// shared machine, not a timing assertion.
const bound = 90 * time.Second

// Do runs steps in the tab and fails the test on error.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if err := chromedp.Do(rctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Get runs an action that returns a value and fails the test on error.
func Get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	v, err := chromedp.Run(rctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}
