package main

import (
	"context"
	"fmt"

	signalrt "github.com/reliablesignals/signals/runtime"
)

func migrate(ctx context.Context, e *env, _ *options, _ []string) error {
	if err := signalrt.Migrate(ctx, e.db); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "schema up to date")
	return nil
}
