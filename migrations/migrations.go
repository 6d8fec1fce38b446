// Package migrations holds the numbered SQL migrations of the canteen database.
// Each NNNNNN_name.tx.up.sql has a matching .tx.down.sql; both run in one transaction.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
