// Package diner holds the diner web page served at /m/: one HTML page, its script and
// its style sheet, embedded so the binary serves them without files on disk.
package diner

import "embed"

// FS holds index.html, app.js and app.css.
//
//go:embed *.html *.js *.css
var FS embed.FS
