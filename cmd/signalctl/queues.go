package main

import (
	"context"
	"fmt"
	"slices"

	signalrt "github.com/reliablesignals/signals/runtime"
)

func pause(ctx context.Context, e *env, o *options, args []string) error {
	queue := args[0]
	if !o.force {
		k, err := loadKnown(ctx, e.db)
		if err != nil {
			return err
		}
		if !slices.Contains(k.queues, queue) {
			return fmt.Errorf("no queue %q is known (no task, worker or receiver uses it); known queues: %s; pass -force to pause it before anything uses it",
				clean(queue), clean(listOrNone(k.queues)))
		}
	}
	if err := signalrt.PauseQueue(ctx, e.db, queue); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "queue %s paused\n", clean(queue))
	return nil
}

func resume(ctx context.Context, e *env, _ *options, args []string) error {
	queue := args[0]
	was, err := signalrt.ResumeQueue(ctx, e.db, queue)
	if err != nil {
		return err
	}
	if !was {
		fmt.Fprintf(e.stdout, "queue %s was not paused\n", clean(queue))
		return nil
	}
	fmt.Fprintf(e.stdout, "queue %s resumed\n", clean(queue))
	return nil
}
