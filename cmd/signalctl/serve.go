package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/reliablesignals/signals/runtime/dashboard"
)

// serveArgs checks -addr before anything connects.
func serveArgs(o *options, args []string) error {
	if err := noArgs(o, args); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return usageError("serve: -addr %q: %v; want host:port, such as 127.0.0.1:8080", o.addr, err)
	}
	return nil
}

// serve serves the dashboard until ctx is cancelled (SIGINT or SIGTERM),
// then shuts down gracefully.
func serve(ctx context.Context, e *env, o *options, _ []string) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           dashboard.New(e.db, dashboard.Options{ReadOnly: o.readOnly, Hosts: hostsFor(ln.Addr())}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	mode := ""
	if o.readOnly {
		mode = " (read-only)"
	}
	if !loopback(ln.Addr()) {
		fmt.Fprintf(e.stderr, "signalctl: warning: the dashboard listens on %s, beyond this machine, without authentication: "+
			"whoever reaches it can read payloads%s. Use -read-only, or mount dashboard.New in your program behind your authentication (Options.Authorize).\n",
			ln.Addr(), map[bool]string{false: " and retry, discard and cancel tasks", true: ""}[o.readOnly])
	}
	fmt.Fprintf(e.stdout, "dashboard%s at http://%s/ (Ctrl-C stops it)\n", mode, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}

// loopback reports whether addr is a loopback address.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// hostsFor returns the Host headers the dashboard answers on a listener at
// addr: for a loopback listener, localhost, 127.0.0.1 and [::1] with its
// port; for others, none (any), since the names the machine is reached by
// are not known here.
func hostsFor(addr net.Addr) []string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return nil
	}
	port := fmt.Sprint(tcp.Port)
	return []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port}
}
