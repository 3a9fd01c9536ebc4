// Package migrations embeds this folder's SQL files into the binary, so
// `server migrate` needs nothing but the image.
//
// Add a file per change, named NNNN_what.sql (applied in lexical order, each
// once, in its own transaction). Never edit a file that has been applied
// anywhere: add a new one. Statements that cannot run in a transaction
// (CREATE INDEX CONCURRENTLY) do not belong here.
package migrations

import "embed"

// Files holds the *.sql files of this folder.
//
//go:embed *.sql
var Files embed.FS
