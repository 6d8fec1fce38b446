package settlement

import (
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
)

// AdjustmentInput is finance correcting a closed statement: Fen (signed, in the sense of
// the statement's total: positive raises what the sponsor pays or the operator gets),
// optionally for one order on it, with a reason of 2 to 500 characters.
type AdjustmentInput struct {
	StatementID int64  `json:"statement_id"`
	OrderID     int64  `json:"order_id"`
	Fen         int64  `json:"fen"`
	Reason      string `json:"reason"`
}

func (in AdjustmentInput) validate() (AdjustmentInput, error) {
	var f apperr.Fields
	in.Reason = strings.TrimSpace(in.Reason)
	f.Check(in.StatementID > 0, "statement_id", "必须是正整数 / must be a positive id")
	f.Check(in.OrderID >= 0, "order_id", "必须是正整数 / must be a positive id")
	f.Check(in.Fen != 0 && in.Fen >= -MaxFen && in.Fen <= MaxFen, "fen", "应为非零且不超过 1 亿元 / must be non-zero and at most 10,000,000,000 fen either way")
	f.Check(runes(in.Reason, 2, 500), "reason", "应为 2 到 500 个字 / must be 2 to 500 characters")
	return in, f.Err()
}

// Adjustment is a correction of a closed statement (调整). It lands as a manual line in
// the statement of the same party for Month, the first month after the corrected
// statement's that was open when it was booked.
type Adjustment struct {
	ID             int64       `json:"id"`
	CommunityID    int64       `json:"community_id"`
	Month          Month       `json:"month"`
	StatementID    int64       `json:"statement_id"`
	StatementMonth Month       `json:"statement_month"`
	Party          Party       `json:"party"`
	OrderID        int64       `json:"order_id,omitempty"`
	Fen            int64       `json:"fen"`
	Reason         string      `json:"reason"`
	Actor          audit.Actor `json:"actor"`
	CreatedAt      time.Time   `json:"created_at"`
	// The order's canteen, its operator and meal, for the line (when OrderID is set).
	CanteenID  int64          `json:"-"`
	OperatorID int64          `json:"-"`
	Day        civil.Date     `json:"-"`
	Period     catalog.Period `json:"-"`
}
