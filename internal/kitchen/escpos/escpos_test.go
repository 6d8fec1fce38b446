package escpos

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// printout is a lunch ticket of two lines, at the wok (炒锅) and cold-dish (凉菜) stations.
func printout() kitchen.Printout {
	return kitchen.Printout{
		Card: kitchen.Card{
			Ticket: kitchen.Ticket{ID: 812, CanteenID: 3, OrderID: 4031, Day: civil.Date{Year: 2026, Month: 11, Day: 28},
				Period: "lunch", Pickup: "A023", State: kitchen.StateNew, Priority: true,
				CreatedAt: time.Date(2026, 11, 28, 3, 32, 10, 0, time.UTC)}, // 11:32 in Shanghai
			Lines: []kitchen.Line{
				{LineNo: 1, Name: "红烧肉", Qty: 2, Note: "少辣，米饭软一点", StationID: 7},
				{LineNo: 2, Name: "凉拌黄瓜", Qty: 1, StationID: 9},
			},
			Stations: []int64{7, 9},
		},
		Canteen:      "幸福里长者食堂",
		StationNames: map[int64]string{7: "炒锅", 9: "凉菜"},
	}
}

func TestTicketGolden(t *testing.T) {
	reprint := printout()
	reprint.Reprint, reprint.Priority, reprint.Delivery = 2, false, true
	station := kitchen.PrintJob{Printer: kitchen.Printer{StationID: 7}, Card: printout().Card, Canteen: "幸福里长者食堂",
		StationNames: printout().StationNames}.Printout()
	hostile := printout()
	hostile.Lines = []kitchen.Line{{LineNo: 1, Name: "米饭\x1bp\x00\x19", Qty: 1, Note: "不要葱\n\x1d\x56\x00再切一刀\x1b@"}}
	narrow := printout()
	narrow.Priority = false
	for _, tc := range []struct {
		name string
		p    kitchen.Printout
		opt  Options
	}{
		{"whole_ticket_priority", printout(), Options{}},
		{"reprint_delivery", reprint, Options{}},
		{"station_wok", station, Options{}},
		{"notes_cannot_command", hostile, Options{}},
		{"paper_58mm", narrow, Options{Width: 32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(Ticket(tc.p, tc.opt))
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestTicketBytes pins the bytes the printer acts on, independently of describe.
func TestTicketBytes(t *testing.T) {
	b := Ticket(printout(), Options{})
	gb := func(s string) []byte {
		e, err := gb18030.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"starts with ESC @ then FS &", bytes.HasPrefix(b, []byte{0x1b, 0x40, 0x1c, 0x26})},
		{"ends with a feed and GS V 1", bytes.HasSuffix(b, []byte{0x1b, 0x64, 4, 0x1d, 0x56, 1})},
		{"pickup number at double size", bytes.Contains(b, append([]byte{0x1d, 0x21, 0x11}, "A023\n"...))},
		{"priority inverted in bold", bytes.Contains(b, append([]byte{0x1d, 0x42, 1, 0x1b, 0x45, 1}, gb(" 优先 ")...))},
		{"dish name in GB18030", bytes.Contains(b, gb("2 × 红烧肉"))},
		{"note inverted", bytes.Contains(b, append([]byte{0x1d, 0x42, 1, 0x1b, 0x45, 1}, gb(" 备注：少辣，米饭软一点 ")...))},
		{"no UTF-8", !bytes.Contains(b, []byte("红烧肉"))},
		{"no reprint mark on a first print", !bytes.Contains(b, gb("重打"))},
		{"no delivery mark on a dine-in ticket", !bytes.Contains(b, gb("外送"))},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s:\n% x", c.what, b)
		}
	}
	// A diner's note cannot smuggle commands in: the only ESC, GS and FS bytes are ours.
	hostile := printout()
	hostile.Lines[0].Note = "\x1bp\x00\x19\x19\x1d\x56\x00"
	if got, want := commands(Ticket(hostile, Options{})), commands(b); got != want {
		t.Errorf("a hostile note changed the commands:\n got %s\nwant %s", got, want)
	}
}

func TestText(t *testing.T) {
	p := printout()
	p.Reprint = 1
	got := Text(Ticket(p, Options{Width: 8}))
	want := " 重打 #1 \nA023\n 优先 \n幸福里长者食堂\n午餐 2026-11-28 11:32\n--------\n2 × 红烧肉  [炒锅]\n   备注：少辣，米饭软一点 \n1 × 凉拌黄瓜  [凉菜]\n--------\n出餐单 #812  订单 #4031\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
}

// commands lists the ESC/POS commands in b, in order, text left out.
func commands(b []byte) string {
	var out []string
	for i := 0; i < len(b); {
		if n := commandLen(b[i:]); n > 0 {
			out = append(out, fmt.Sprintf("% x", b[i:i+n]))
			i += n
			continue
		}
		if b[i] < 0x20 && b[i] != lineFeed {
			out = append(out, fmt.Sprintf("stray %02x", b[i]))
		}
		i++
	}
	return strings.Join(out, ", ")
}

// describe spells ESC/POS bytes out for the golden files: one token per command, quoted
// text decoded from GB18030, a line break after each LF. Bytes it cannot account for
// appear in hex, so every byte of the printout shows in the golden file.
func describe(b []byte) string {
	names := map[string]string{"1b40": "ESC @", "1c26": "FS &", "1b61": "ESC a", "1b45": "ESC E", "1b64": "ESC d",
		"1d21": "GS !", "1d42": "GS B", "1d56": "GS V"}
	var out strings.Builder
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		s, err := gb18030.NewDecoder().Bytes(run)
		back, err2 := gb18030.NewEncoder().Bytes(s)
		if err != nil || err2 != nil || !bytes.Equal(back, run) {
			fmt.Fprintf(&out, "<% x> ", run)
		} else {
			fmt.Fprintf(&out, "%q ", s)
		}
		run = run[:0]
	}
	for i := 0; i < len(b); {
		n := commandLen(b[i:])
		switch {
		case n > 0:
			flush()
			name, ok := names[fmt.Sprintf("%x", b[i:i+2])]
			if !ok {
				name = fmt.Sprintf("<% x>", b[i:i+2])
			}
			out.WriteString(name)
			for _, p := range b[i+2 : i+n] {
				fmt.Fprintf(&out, " %#02x", p)
			}
			out.WriteString(" ")
			i += n
		case b[i] == lineFeed:
			flush()
			out.WriteString("LF\n")
			i++
		case b[i] < 0x20:
			flush()
			fmt.Fprintf(&out, "<%02x> ", b[i])
			i++
		default:
			run = append(run, b[i])
			i++
		}
	}
	flush()
	return out.String()
}
