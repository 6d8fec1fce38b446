// Package kitchen holds the wall screens served by the API: the kitchen screen at
// /kitchen/ and the dining room's pickup board at /pickup/, embedded so the binary serves
// them without files on disk.
package kitchen

import "embed"

// FS holds kitchen.html, kitchen.js, pickup.html, pickup.js and screens.css.
//
//go:embed *.html *.js *.css
var FS embed.FS
