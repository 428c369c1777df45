package signalrt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestHostilePayloadsArriveByteForByte sends strings that jsonb cannot
// hold (NUL) or that encoders get wrong (every control character, 4-byte
// UTF-8, escaped lone surrogates, which encoding/json decodes to U+FFFD) in
// the sender's transaction, and checks that the transaction commits and the
// receiver gets exactly the bytes that encoding/json wrote.
func TestHostilePayloadsArriveByteForByte(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	var controls []rune
	for r := rune(0); r < 0x20; r++ {
		controls = append(controls, r)
	}
	notes := []string{
		"nul\x00byte",
		string(controls) + "\x7f",
		"4-byte: 😀 𝄞 \U0010FFFF",
		"quotes \" and \\ backslash </script>",
	}
	type note struct {
		Note string `json:"note"`
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE business (id int)"); err != nil {
			return err
		}
		for _, n := range notes {
			if err := signalrt.Send(ctx, tx, "noted", routes("keep"), note{n}); err != nil {
				return err
			}
		}
		// A lone surrogate, as another sender might write it.
		if err := signalrt.Send(ctx, tx, "noted", routes("keep"), map[string]any{"note": rawJSON(`"lone \ud800 surrogate"`)}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO business VALUES (1)")
		return err
	})
	if err != nil {
		t.Fatalf("the sender's transaction failed: %v", err)
	}
	var got []string
	table := signalrt.Table{{Key: "keep", Signal: "noted", Handle: signalrt.Typed(func(ctx context.Context, p note) error {
		got = append(got, p.Note)
		return nil
	})}}
	if st, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil || st.Succeeded != len(notes)+1 {
		t.Fatalf("RunUntilIdle: %+v, %v", st, err)
	}
	want := map[string]bool{"lone \uFFFD surrogate": true}
	for _, n := range notes {
		want[n] = true
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("receiver got %q, which was not sent", g)
		}
		if !utf8.ValidString(g) {
			t.Errorf("receiver got invalid UTF-8 %q", g)
		}
		delete(want, g)
	}
	if len(want) != 0 {
		t.Errorf("not received: %v", want)
	}
}

// rawJSON is JSON text that encoding/json writes as it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestMaxPayloadBytes sends payloads at the limit and one byte over it.
func TestMaxPayloadBytes(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	const limit = 1000
	defer signalrt.SetMaxPayloadBytes(limit)()
	// {"s":"…"} is 8 bytes around the string.
	at := map[string]string{"s": strings.Repeat("x", limit-8)}
	over := map[string]string{"s": strings.Repeat("x", limit-7)}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := signalrt.Send(ctx, tx, "big", routes("a"), at); err != nil {
			return fmt.Errorf("at the limit: %w", err)
		}
		err := signalrt.Send(ctx, tx, "big", routes("a"), over)
		if !errors.Is(err, signalrt.ErrPayloadTooLarge) || !strings.Contains(err.Error(), "signal big") || !strings.Contains(err.Error(), "1001 bytes") || !strings.Contains(err.Error(), "limit of 1000") {
			return fmt.Errorf("one byte over: %v; want ErrPayloadTooLarge naming the signal and both sizes", err)
		}
		// The refused send touched nothing: the transaction goes on.
		_, err = tx.Exec(ctx, "SELECT 1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n, size int
	if err := pool.QueryRow(ctx, "SELECT count(*), max(length(payload::text)) FROM signal_task").Scan(&n, &size); err != nil || n != 1 || size != limit {
		t.Fatalf("tasks %d of %d bytes (%v); want 1 of %d", n, size, err, limit)
	}
	signalrt.SetMaxPayloadBytes(0)
	if err := signalrt.Send(ctx, pool, "big", routes("a"), over); err != nil {
		t.Errorf("with no limit: %v", err)
	}
}
