package signalrt

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Migrations holds the schema as numbered SQL files (migrations/NNN_name.sql),
// one version per file. [Migrate] applies them; users of another migration
// tool (goose, atlas, golang-migrate, ...) can copy the files instead: each
// runs as one transaction, in order.
//
//go:embed migrations/*.sql
var Migrations embed.FS

//go:embed schema_version.sql
var schemaVersionSQL string

// migrateLockKey is the advisory lock that serializes Migrate across
// processes ("signalmg" in ASCII).
const migrateLockKey = 0x7369676e616c6d67

// Migration is one schema version.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ListMigrations returns the embedded migrations in version order.
func ListMigrations() ([]Migration, error) {
	entries, err := fs.ReadDir(Migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNN_name.sql", name)
		}
		body, err := fs.ReadFile(Migrations, "migrations/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate brings the schema in the pool's database (its search_path) up to
// the newest embedded version. Each version runs in its own transaction
// together with its record in signal_schema_version, and each of those
// transactions first takes a PostgreSQL transaction-level advisory lock and
// looks again at what is applied, so processes that migrate at the same
// time apply each version once. Running it on an up-to-date schema changes
// nothing.
//
// Migrate holds no lock or other state between transactions, so it works
// through PgBouncer in transaction pooling mode as well as on a direct
// connection.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := ListMigrations()
	if err != nil {
		return err
	}
	lock := func(tx pgx.Tx) error {
		if err := queries.AdvisoryXactLock(ctx, tx, migrateLockKey); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		return nil
	}
	applied := func(tx pgx.Tx) (map[int]bool, error) {
		vs, err := queries.SchemaVersions(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("reading applied versions: %w", err)
		}
		done := map[int]bool{}
		for _, v := range vs {
			done[int(v)] = true
		}
		return done, nil
	}
	var done map[int]bool
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schemaVersionSQL); err != nil {
			return fmt.Errorf("creating signal_schema_version: %w", err)
		}
		done, err = applied(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := lock(tx); err != nil {
				return err
			}
			// Another process may have applied it since we looked.
			now, err := applied(tx)
			if err != nil || now[m.Version] {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			return queries.RecordSchemaVersion(ctx, tx, dbsqlc.RecordSchemaVersionParams{Version: int32(m.Version), Name: m.Name})
		})
		if err != nil {
			return fmt.Errorf("migrate: applying %s: %w", m.Name, err)
		}
	}
	return nil
}
