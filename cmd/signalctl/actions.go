package main

import (
	"context"
	"errors"
	"fmt"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// act runs an action on the tasks given by id, or on those that match the
// filters, prints how many it changed, and fails when none.
func act(ctx context.Context, e *env, o *options, args []string, a signalrt.Action,
	byID func(context.Context, signalrt.Executor, ...int64) (int64, error),
	byQuery func(context.Context, signalrt.Executor, signalrt.TaskQuery) (int64, error),
	done string,
) error {
	var n int64
	var err error
	var k known
	if len(args) > 0 {
		ids, _ := parseIDs(args)
		n, err = byID(ctx, e.db, ids...)
	} else {
		if k, err = resolve(ctx, e, o); err != nil {
			return err
		}
		n, err = byQuery(ctx, e.db, o.q)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s\n", plural(n, "task", "tasks"), done)
	if n > 0 {
		return nil
	}
	msg := fmt.Sprintf("nothing matched: no %s task had those ids or matched those filters", joinStates(a.States(), " or "))
	if unknown := k.unknownNames(o.q); unknown != "" {
		msg += " (" + unknown + ")"
	}
	return errors.New(msg)
}

func retry(ctx context.Context, e *env, o *options, args []string) error {
	return act(ctx, e, o, args, signalrt.ActionRetry, signalrt.Retry, signalrt.RetryMatching, "retried")
}

func discard(ctx context.Context, e *env, o *options, args []string) error {
	return act(ctx, e, o, args, signalrt.ActionDiscard, signalrt.Discard, signalrt.DiscardMatching, "discarded")
}

func cancel(ctx context.Context, e *env, o *options, args []string) error {
	return act(ctx, e, o, args, signalrt.ActionCancel, signalrt.Cancel, signalrt.CancelMatching, "cancelled")
}

func runNow(ctx context.Context, e *env, o *options, args []string) error {
	return act(ctx, e, o, args, signalrt.ActionRunNow, signalrt.RunNow, nil, "due now")
}
