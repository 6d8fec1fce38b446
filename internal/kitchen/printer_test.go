package kitchen

import (
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
)

func TestParsePrinterAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.168.1.50:9100", "192.168.1.50:9100"},
		{" 192.168.1.50 ", "192.168.1.50:9100"},
		{"printer-1.kitchen.local:9101", "printer-1.kitchen.local:9101"},
		{"printer", "printer:9100"},
		{"[fe80::1]:9100", "[fe80::1]:9100"},
		{"10.0.0.1:1", "10.0.0.1:1"},
		{"10.0.0.1:65535", "10.0.0.1:65535"},
		{"10.0.0.1:0", ""},
		{"10.0.0.1:65536", ""},
		{"10.0.0.1:-1", ""},
		{"10.0.0.1:09100", ""},
		{"10.0.0.1:", ""},
		{"fe80::1", ""},
		{"http://printer:9100", ""},
		{"printer_1:9100", ""},
		{"-printer:9100", ""},
		{"two words:9100", ""},
		{"", ""},
	} {
		got, err := ParsePrinterAddress(tc.in)
		if tc.want == "" {
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Field != "address" {
				t.Errorf("ParsePrinterAddress(%q) = %q, %v; want Invalid naming address", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePrinterAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPrinterPatchAndPrintout(t *testing.T) {
	p := Printer{Name: "后厨", Address: "10.0.0.1:9100", Status: PrinterOK, Enabled: true, StationID: 4}
	same, zero := "10.0.0.1", int64(0)
	if err := (PrinterPatch{Address: &same, StationID: &zero}).apply(&p); err != nil || p.Status != PrinterOK || p.StationID != 0 {
		t.Fatalf("the same address again: %+v, %v; want status kept, whole-ticket printer", p, err)
	}
	moved, blank := "10.0.0.2", " "
	if err := (PrinterPatch{Address: &moved, Name: &blank}).apply(&p); err == nil || p.Address != "10.0.0.1:9100" {
		t.Fatalf("an invalid patch changed %+v (%v)", p, err)
	}
	if err := (PrinterPatch{Address: &moved}).apply(&p); err != nil || p.Status != PrinterUnknown || p.Address != "10.0.0.2:9100" {
		t.Fatalf("a new address: %+v, %v; want status unknown", p, err)
	}
	job := PrintJob{Generation: 2, Printer: Printer{StationID: 7}, Canteen: "K", StationNames: map[int64]string{7: "炒锅"},
		Card: Card{Lines: []Line{{LineNo: 1, Name: "肉", StationID: 7}, {LineNo: 2, Name: "菜", StationID: 8}, {LineNo: 3, Name: "饭"}}}}
	out := job.Printout()
	if len(out.Lines) != 1 || out.Lines[0].Name != "肉" || out.Station != "炒锅" || out.Reprint != 2 || len(job.Card.Lines) != 3 {
		t.Fatalf("station printout %+v", out)
	}
	job.Printer.StationID = 0
	if out := job.Printout(); len(out.Lines) != 3 || out.Station != "" {
		t.Fatalf("whole-ticket printout %+v", out)
	}
}
