package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

func workers(ctx context.Context, e *env, o *options, _ []string) error {
	ws, err := signalrt.Workers(ctx, e.db)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(e.stdout, ws)
	}
	if len(ws) == 0 {
		fmt.Fprintln(e.stdout, "no workers")
		return nil
	}
	tw := table(e.stdout)
	fmt.Fprintln(tw, "NAME\tHOST\tPID\tQUEUES\tSLOTS\tSTATUS\tLAST HEARTBEAT\tSTARTED\tRECEIVERS")
	for _, wk := range ws {
		status := "live"
		switch {
		case !wk.Live:
			status = "gone"
		case wk.Unhealthy != "":
			status = "unhealthy: " + wk.Unhealthy
		}
		keys := make([]string, 0, len(wk.Receivers))
		idle := 0
		for k, r := range wk.Receivers {
			keys = append(keys, k)
			if r.Idle {
				idle++
			}
		}
		sort.Strings(keys)
		recv := fmt.Sprintf("%d: %s", len(keys), firstLine(strings.Join(keys, ", "), 80))
		if idle > 0 {
			recv = fmt.Sprintf("%d (%d not run here: their queues are not this worker's): %s", len(keys), idle, firstLine(strings.Join(keys, ", "), 80))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s ago\t%s\t%s\n", clean(wk.Name), clean(wk.Host), wk.PID, clean(strings.Join(wk.Queues, ",")), wk.Concurrency,
			clean(status), wk.HeartbeatAge.Round(time.Second), wk.StartedAt.Format(time.RFC3339), clean(recv))
	}
	return tw.Flush()
}
