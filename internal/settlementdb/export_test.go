package settlementdb_test

import (
	"bytes"
	csvpkg "encoding/csv"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/settlement/export"
	"github.com/canteen-oss/canteen/internal/settlementdb"
)

// TestExportDetailsMaskDiners closes the standard October and reads what the operator's
// statement names: canteens, sponsors and every order's diner, masked (the elder by the
// real name of her eligibility, with her sealed phone number opened and masked); the
// statement is not found from another community; and the CSV export of the real
// statement shows the masked diner, never the clear one.
func TestExportDetailsMaskDiners(t *testing.T) {
	f := newFixture(t)
	keys := secure.DemoKeyring()
	kid, ct, err := keys.Seal([]byte("13812345678"), "diners.phone:"+itoa(f.elder1))
	f.check(err)
	f.exec("UPDATE diners SET phone_enc = ?, phone_key = ?, phone_index = ? WHERE id = ?", ct, kid,
		keys.BlindIndex(secure.KindPhone, "13812345678"), f.elder1)
	f.exec("UPDATE diners SET nickname = '小王同学' WHERE id = ?", f.walkIn)
	m := f.october()
	f.closeMonth(october)
	st := f.statements(october)[f.operatorParty(f.operator)]
	if st.ID == 0 {
		t.Fatal("October has no statement of the operator")
	}

	exp := settlementdb.NewExports(f.db, keys)
	d, err := exp.Details(f.ctx, f.cid, st.ID)
	f.check(err)
	if d.Community != "幸福里" || d.Canteens[f.canteenA] != "长者饭堂" || d.Sponsors[f.gov] != "市级财政" {
		t.Errorf("details name community %q, canteens %v, sponsors %v", d.Community, d.Canteens, d.Sponsors)
	}
	want := map[int64]export.Diner{
		m.elderWeChat.ID: {Name: "张**", Phone: "138****5678"},
		m.refunded.ID:    {Name: "张**", Phone: "138****5678"},
		m.rider.ID:       {Name: "李**"},
		m.walkIn.ID:      {Name: "小***"},
	}
	for order, w := range want {
		if got := d.Diners[order]; got != w {
			t.Errorf("order %d: diner %+v, want %+v", order, got, w)
		}
	}
	for _, l := range st.Lines {
		if _, ok := d.Diners[l.OrderID]; l.OrderID != 0 && !ok {
			t.Errorf("line %d: order %d has no diner", l.No, l.OrderID)
		}
	}

	var other int64
	f.scan("INSERT INTO communities (code, name) VALUES ('c2', '别的社区') RETURNING id", &other)
	if _, err := exp.Details(f.ctx, other, st.ID); !errors.Is(err, settlement.ErrStatementNotFound) {
		t.Errorf("another community reads the statement's details: %v", err)
	}

	svc := export.NewService(f.store, exp, func() time.Time { return f.now })
	file, err := svc.Export(f.ctx, f.cid, st.ID, export.CSV)
	f.check(err)
	csv := string(file.Body)
	if !strings.Contains(csv, "张**,138****5678") || strings.Contains(csv, "13812345678") || strings.Contains(csv, "张阿婆") {
		t.Errorf("the CSV export does not show the elder masked:\n%s", csv)
	}
	// The file's own fen column adds up to the operator's October, worked out by hand in
	// TestStatementsEqualLedgerSums: 4800 fen.
	records, err := csvpkg.NewReader(bytes.NewReader(bytes.TrimPrefix(file.Body, []byte("\uFEFF")))).ReadAll()
	f.check(err)
	fenCol := slices.Index(records[0], "金额（分） Amount (fen)")
	if fenCol < 0 {
		t.Fatalf("the CSV has no fen column: %q", records[0])
	}
	var sum int64
	for _, r := range records[1:] {
		fen, err := strconv.ParseInt(r[fenCol], 10, 64)
		f.check(err)
		sum += fen
	}
	if len(records)-1 != len(st.Lines) || sum != 4800 {
		t.Errorf("the CSV export has %d lines adding up to %d fen; want %d lines, 4800 fen", len(records)-1, sum, len(st.Lines))
	}
	if _, err := svc.ExportForMerchant(f.ctx, f.cid, f.donor, st.ID, export.XLSX); !errors.Is(err, settlement.ErrStatementNotFound) {
		t.Errorf("another merchant exports the operator's statement: %v", err)
	}
	if _, err := svc.ExportForMerchant(f.ctx, f.cid, f.operator, st.ID, export.HTML); err != nil {
		t.Errorf("the operator cannot export its own statement: %v", err)
	}
}
