// Package orms shows reliable signals sent from inside the transactions of
// database/sql and of the libraries built on it: sqlx, GORM and bun. Each
// test sends billing's invoice_paid inside the library's own transaction
// and shows that a rollback leaves no task and a commit leaves one task
// per receiver.
//
// It is a module of its own, so that the library's go.mod gains no ORM.
// Its tests need a PostgreSQL server: DATABASE_URL, or
// postgres://postgres@127.0.0.1:5432/test; they fail, never skip, when none
// answers.
//
//	cd examples/orms && go test ./...
package orms

//go:generate go tool signalgen ./...
