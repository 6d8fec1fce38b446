// Package escpos renders kitchen tickets as ESC/POS, the command language of receipt
// printers: Chinese text in GB18030 under the printer's Chinese mode (FS &), the pickup
// number at double width and height, the priority (优先) and delivery (外送) marks and
// each line's note printed inverted in bold so the cook sees them, a reprint marked
// 重打 #n, then a feed and a partial cut. It is pure: bytes in, bytes out, no I/O.
package escpos

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

// ESC/POS commands used here.
var (
	cmdInit       = []byte{0x1b, 0x40}       // ESC @: reset the printer
	cmdChinese    = []byte{0x1c, 0x26}       // FS &: Chinese (Kanji) character mode
	cmdLeft       = []byte{0x1b, 0x61, 0}    // ESC a 0
	cmdCenter     = []byte{0x1b, 0x61, 1}    // ESC a 1
	cmdBoldOn     = []byte{0x1b, 0x45, 1}    // ESC E 1
	cmdBoldOff    = []byte{0x1b, 0x45, 0}    // ESC E 0
	cmdInvertOn   = []byte{0x1d, 0x42, 1}    // GS B 1: white on black
	cmdInvertOff  = []byte{0x1d, 0x42, 0}    // GS B 0
	cmdSizeNormal = []byte{0x1d, 0x21, 0x00} // GS ! 0
	cmdSizeTall   = []byte{0x1d, 0x21, 0x01} // GS ! 1: double height
	cmdSizeDouble = []byte{0x1d, 0x21, 0x11} // GS ! 0x11: double width and height
	cmdFeed       = []byte{0x1b, 0x64, 4}    // ESC d 4: print and feed four lines
	cmdPartialCut = []byte{0x1d, 0x56, 1}    // GS V 1: partial cut
)

const lineFeed byte = 0x0a

// DefaultWidth is the width of 80 mm paper in half-width characters (font A).
const DefaultWidth = 48

// Options shape a printout.
type Options struct {
	Width int // characters per line in half-width characters: 48 on 80 mm paper, 32 on 58 mm; DefaultWidth when 0
}

var periodNames = map[string]string{"breakfast": "早餐", "lunch": "午餐", "dinner": "晚餐"}

// Ticket renders p as ESC/POS bytes. Text from diners (notes) cannot carry printer
// commands: control characters become spaces.
func Ticket(p kitchen.Printout, opt Options) []byte {
	if opt.Width <= 0 {
		opt.Width = DefaultWidth
	}
	var b bytes.Buffer
	b.Write(cmdInit)
	b.Write(cmdChinese)
	b.Write(cmdCenter)
	if p.Reprint > 0 {
		inverted(&b, fmt.Sprintf("重打 #%d", p.Reprint))
		b.WriteByte(lineFeed)
	}
	b.Write(cmdSizeDouble)
	text(&b, p.Pickup)
	b.WriteByte(lineFeed)
	var marks []string
	if p.Priority {
		marks = append(marks, "优先")
	}
	if p.Delivery {
		marks = append(marks, "外送")
	}
	for i, m := range marks {
		if i > 0 {
			text(&b, " ")
		}
		inverted(&b, m)
	}
	if len(marks) > 0 {
		b.WriteByte(lineFeed)
	}
	b.Write(cmdSizeNormal)
	text(&b, p.Canteen)
	b.WriteByte(lineFeed)
	when := p.CreatedAt.In(civil.Shanghai()).Format("2006-01-02 15:04")
	text(&b, strings.TrimSpace(periodNames[p.Period]+" "+when))
	b.WriteByte(lineFeed)
	if p.Station != "" {
		text(&b, "档口："+p.Station)
		b.WriteByte(lineFeed)
	}
	b.Write(cmdLeft)
	rule(&b, opt.Width)
	for _, l := range p.Lines {
		b.Write(cmdSizeTall)
		b.Write(cmdBoldOn)
		text(&b, fmt.Sprintf("%d × %s", l.Qty, l.Name))
		b.Write(cmdBoldOff)
		b.Write(cmdSizeNormal)
		if name := p.StationNames[l.StationID]; name != "" && p.Station == "" {
			text(&b, "  ["+name+"]")
		}
		b.WriteByte(lineFeed)
		if note := strings.TrimSpace(clean(l.Note)); note != "" {
			text(&b, "  ")
			inverted(&b, "备注："+note)
			b.WriteByte(lineFeed)
		}
	}
	rule(&b, opt.Width)
	text(&b, fmt.Sprintf("出餐单 #%d  订单 #%d", p.ID, p.OrderID))
	b.WriteByte(lineFeed)
	b.Write(cmdFeed)
	b.Write(cmdPartialCut)
	return b.Bytes()
}

// inverted writes s in bold, white on black, with a space either side.
func inverted(b *bytes.Buffer, s string) {
	b.Write(cmdInvertOn)
	b.Write(cmdBoldOn)
	text(b, " "+s+" ")
	b.Write(cmdBoldOff)
	b.Write(cmdInvertOff)
}

func rule(b *bytes.Buffer, width int) {
	b.WriteString(strings.Repeat("-", width))
	b.WriteByte(lineFeed)
}

var gb18030 = simplifiedchinese.GB18030

// text writes s, cleaned, in GB18030. GB18030 encodes every Unicode character, and none of
// its multi-byte sequences holds a byte below 0x30, so no command can come out of text.
func text(b *bytes.Buffer, s string) {
	s = clean(s)
	enc, err := gb18030.NewEncoder().String(s)
	if err != nil { // not expected: clean leaves valid UTF-8 only
		enc = strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf {
				return r
			}
			return '?'
		}, s)
	}
	b.WriteString(enc)
}

// clean returns s as valid UTF-8 with every control character (line breaks, ESC ...) as a
// space.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// Text returns the printable text of ESC/POS bytes written by Ticket: commands dropped,
// GB18030 decoded, one line per line feed. For logs of a fake printer and for tests.
func Text(data []byte) string {
	var out, run bytes.Buffer
	flush := func() {
		if run.Len() > 0 {
			s, err := gb18030.NewDecoder().Bytes(run.Bytes())
			if err != nil {
				s = run.Bytes()
			}
			out.Write(s)
			run.Reset()
		}
	}
	for i := 0; i < len(data); {
		n := commandLen(data[i:])
		switch {
		case n > 0:
			flush()
			i += n
		case data[i] == lineFeed:
			flush()
			out.WriteByte('\n')
			i++
		default:
			run.WriteByte(data[i])
			i++
		}
	}
	flush()
	return out.String()
}

// commandLen returns the length of the ESC/POS command at the start of b, 0 when b does
// not start with one this package knows.
func commandLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	var n int
	switch b[0] {
	case 0x1b: // ESC
		switch b[1] {
		case '@':
			n = 2
		case '!', 'E', 'a', 'd', '-':
			n = 3
		}
	case 0x1d: // GS
		switch b[1] {
		case '!', 'B':
			n = 3
		case 'V':
			n = 3
			if len(b) > 2 && (b[2] == 65 || b[2] == 66) {
				n = 4
			}
		}
	case 0x1c: // FS
		switch b[1] {
		case '&', '.':
			n = 2
		case '!':
			n = 3
		}
	}
	if n > len(b) {
		return 0
	}
	return n
}
