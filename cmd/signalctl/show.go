package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// Bounds of show's payload (see signalrt.PayloadPreview); -raw and -json
// print it whole.
const (
	maxPayloadLines = 200
	maxPayloadWidth = 200
)

func show(ctx context.Context, e *env, o *options, args []string) error {
	ids, _ := parseIDs(args)
	t, err := signalrt.GetTask(ctx, e.db, ids[0])
	if errors.Is(err, signalrt.ErrTaskNotFound) {
		return fmt.Errorf("no task %d: it never existed, or it was deleted (succeeded tasks are deleted as they succeed unless the workers' Config.Retention keeps them; cancel and discard delete too)", ids[0])
	}
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(e.stdout, t)
	}
	if o.raw {
		_, err := e.stdout.Write(append(t.Payload, '\n'))
		return err
	}
	tw := table(e.stdout)
	fmt.Fprintf(tw, "id\t%d\nsignal\t%s\nreceiver\t%s\nqueue\t%s\nstate\t%s\nattempt\t%d of %d\npriority\t%d\nrun at\t%s\ncreated\t%s\n",
		t.ID, clean(t.Signal), clean(t.Receiver), clean(t.Queue), t.State, t.Attempt, t.MaxAttempts, t.Priority,
		t.RunAt.Format(time.RFC3339Nano), t.CreatedAt.Format(time.RFC3339Nano))
	if t.FinishedAt != nil {
		fmt.Fprintf(tw, "finished\t%s\n", t.FinishedAt.Format(time.RFC3339Nano))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\npayload (%s, reformatted: keys sorted, duplicates dropped; -raw prints it as stored):\n%s\n",
		plural(int64(len(t.Payload)), "byte", "bytes"), boundedPayload(t.Payload))
	if t.Damaged != "" {
		fmt.Fprintf(e.stdout, "\ndamaged: %s\n", clean(t.Damaged))
	}
	if len(t.Errors) == 0 {
		fmt.Fprintln(e.stdout, "\nno failed attempts")
		return nil
	}
	fmt.Fprintf(e.stdout, "\nfailed attempts (%d):\n", len(t.Errors))
	for _, a := range t.Errors {
		fmt.Fprintf(e.stdout, "\nattempt %d at %s on %s:\n%s\n", a.Attempt, a.At.Format(time.RFC3339Nano), clean(a.Worker), cleanText(a.Error, true))
	}
	return nil
}

// boundedPayload returns the payload indented for reading, cut to
// maxPayloadLines lines of maxPayloadWidth characters, with what was cut.
func boundedPayload(p []byte) string {
	text, cut := signalrt.PayloadPreview(p, maxPayloadLines, maxPayloadWidth)
	if cut {
		text += "\n… (cut: signalctl show -raw prints it whole)"
	}
	return text
}
