package main

import (
	"context"
	"fmt"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

func list(ctx context.Context, e *env, o *options, _ []string) error {
	k, err := resolve(ctx, e, o)
	if err != nil {
		return err
	}
	page, err := signalrt.SearchTasks(ctx, e.db, o.q)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(e.stdout, page)
	}
	if len(page.Tasks) == 0 {
		fmt.Fprintln(e.stdout, "no tasks")
	} else {
		tw := table(e.stdout)
		fmt.Fprintln(tw, "ID\tSTATE\tQUEUE\tSIGNAL\tRECEIVER\tATTEMPT\tRUN AT\tLAST ERROR")
		for _, t := range page.Tasks {
			last := t.LastError
			if t.Damaged != "" {
				last = "(damaged: " + t.Damaged + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", t.ID, t.State, clean(t.Queue), clean(t.Signal), clean(t.Receiver),
				t.Attempt, t.MaxAttempts, t.RunAt.Format(time.RFC3339), clean(firstLine(last, 60)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if page.Partial {
		fmt.Fprintf(e.stdout, "searched the newest %s of this range; older ones were not searched\n", plural(int64(page.Scanned), "task", "tasks"))
	}
	if page.Next != 0 {
		fmt.Fprintf(e.stdout, "more: signalctl list -before %d (with the same filters)\n", page.Next)
	}
	if len(page.Tasks) == 0 {
		if msg := k.unknownNames(o.q); msg != "" {
			fmt.Fprintln(e.stdout, msg)
		}
	}
	return nil
}
