package export

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/canteen-oss/canteen/internal/settlement"
)

// Statements reads one closed statement with all its lines and its sign-off history
// (settlementdb.Store implements it). Errors: settlement.ErrStatementNotFound.
type Statements interface {
	Statement(ctx context.Context, communityID, id int64) (settlement.Statement, error)
}

// Store reads what the lines of statement statementID name (settlementdb.Exports
// implements it): only rows of communityID, diners only masked.
type Store interface {
	Details(ctx context.Context, communityID, statementID int64) (Details, error)
}

// Service exports closed statements. Previews of open months are not exported: a
// preview is not kept and has no lines to show.
type Service struct {
	statements Statements
	store      Store
	now        func() time.Time
}

// NewService returns a Service reading statements from statements and their details
// from store. now is the clock (time.Now when nil).
func NewService(statements Statements, store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{statements: statements, store: store, now: now}
}

// Export renders statement id of the community in format f, for community staff.
// Errors: NotFound (settlement.ErrStatementNotFound).
func (s *Service) Export(ctx context.Context, communityID, id int64, f Format) (File, error) {
	return s.export(ctx, communityID, id, f, func(settlement.Statement) bool { return true })
}

// ExportForMerchant renders statement id for the users of merchant merchantID: only a
// statement that belongs to that merchant (as sponsor or canteen operator); any other is
// settlement.ErrStatementNotFound, as if it did not exist. Errors: NotFound.
func (s *Service) ExportForMerchant(ctx context.Context, communityID, merchantID, id int64, f Format) (File, error) {
	if merchantID <= 0 {
		return File{}, settlement.ErrStatementNotFound
	}
	return s.export(ctx, communityID, id, f, func(st settlement.Statement) bool {
		return st.MerchantID != nil && *st.MerchantID == merchantID
	})
}

func (s *Service) export(ctx context.Context, communityID, id int64, f Format, mine func(settlement.Statement) bool) (File, error) {
	if _, err := ParseFormat(string(f)); err != nil {
		return File{}, err
	}
	st, err := s.statements.Statement(ctx, communityID, id)
	if err != nil {
		return File{}, err
	}
	if !mine(st) {
		return File{}, settlement.ErrStatementNotFound
	}
	det, err := s.store.Details(ctx, communityID, st.ID)
	if err != nil {
		return File{}, err
	}
	doc := Document{Statement: st, Details: det, GeneratedAt: s.now()}
	var buf bytes.Buffer
	switch f {
	case XLSX:
		err = WriteXLSX(&buf, doc)
	case CSV:
		err = WriteCSV(&buf, doc)
	case HTML:
		err = WriteHTML(&buf, doc)
	}
	if err != nil {
		return File{}, fmt.Errorf("export: statement %d as %s: %w", id, f, err)
	}
	name, ascii := FileNames(st, f)
	return File{Format: f, Name: name, ASCIIName: ascii, ContentType: f.ContentType(), Body: buf.Bytes()}, nil
}
