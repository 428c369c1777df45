package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reliablesignals/signals/internal/browsertest"
	"github.com/reliablesignals/signals/internal/pgtest"
)

// TestServeRefusesRebinding runs signalctl serve on loopback and opens it
// in Chromium twice: as 127.0.0.1, and as rebind.test, a name that the
// browser resolves to 127.0.0.1 as a rebinding attacker's DNS would. The
// page of the second is refused (421), so a script of that origin can read
// nothing.
func TestServeRefusesRebinding(t *testing.T) {
	t.Parallel()
	_, url := pgtest.Schema(t)
	pgtest.PoolFor(t, url) // migrated
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", fmt.Sprintf("127.0.0.1:%d", port)}, func(k string) string {
			if k == "DATABASE_URL" {
				return url
			}
			return ""
		}, &out, &errb)
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	bctx := browsertest.New(t, chromedp.Flag("host-resolver-rules", "MAP rebind.test 127.0.0.1"))
	browsertest.Do(t, bctx, "open the dashboard as 127.0.0.1", chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", port)))
	own := browsertest.Get(t, bctx, "its text", chromedp.Text(chromedp.CSS("body")))
	browsertest.Do(t, bctx, "open it as rebind.test", chromedp.Navigate(fmt.Sprintf("http://rebind.test:%d/", port)))
	rebound := browsertest.Get(t, bctx, "its text", chromedp.Text(chromedp.CSS("body")))
	if !strings.Contains(own, "Overview") {
		t.Errorf("as 127.0.0.1: %q; want the overview", own)
	}
	if !strings.Contains(rebound, "misdirected request") || strings.Contains(rebound, "Overview") {
		t.Errorf("as rebind.test: %q; want the refusal", rebound)
	}
}
