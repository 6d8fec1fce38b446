package main

import (
	"context"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/demo"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchen/escpos"
	"github.com/canteen-oss/canteen/internal/printer/printerfake"
)

// demoPrinterName names the demo canteen's printer that `canteen dev` points at its fake.
const demoPrinterName = "演示打印机"

// demoPrinter starts a fake network printer on loopback that writes the text of every
// ticket it prints to the log, until ctx ends, and points the demo canteen's 演示打印机 at
// it, adding the printer the first time. It returns the fake's address.
func demoPrinter(ctx context.Context, sys *system, r demo.Result) (string, error) {
	fp, err := printerfake.Start("127.0.0.1:0", func(data []byte) {
		sys.log.Info("demo printer printed a ticket", "text", escpos.Text(data))
	})
	if err != nil {
		return "", err
	}
	context.AfterFunc(ctx, fp.Close)
	addr := fp.Addr()
	sc := kitchen.Scope{CommunityID: r.CommunityID, Actor: audit.SystemActor}
	ps, err := sys.printers.List(ctx, r.CommunityID, r.CanteenID)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.Name == demoPrinterName {
			_, err := sys.printers.Update(ctx, sc, p.ID, kitchen.PrinterPatch{Address: &addr})
			return addr, err
		}
	}
	_, err = sys.printers.Create(ctx, sc, r.CanteenID, kitchen.PrinterInput{Name: demoPrinterName, Address: addr})
	return addr, err
}
