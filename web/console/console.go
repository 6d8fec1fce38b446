// Package console holds the month-end console served by the API at /finance/: one HTML
// page, its script and its style sheet, embedded so the binary serves them without files
// on disk. Finance and admins preview, check and close a month, read its statements and
// WeChat reconciliation; partner merchants confirm or dispute their own statements.
package console

import "embed"

// FS holds index.html, app.js and app.css.
//
//go:embed *.html *.js *.css
var FS embed.FS
