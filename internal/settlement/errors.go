package settlement

import (
	"fmt"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Errors of settlement; match them with errors.Is.
var (
	ErrMonthInFuture       = apperr.New(apperr.FailedPrecondition, "month_in_future", "这个月份还没有到 / this month has not begun")
	ErrMonthNotEnded       = apperr.New(apperr.FailedPrecondition, "month_not_ended", "这个月份还没有结束，不能结账 / this month has not ended and cannot be closed yet")
	ErrMonthClosed         = apperr.New(apperr.Conflict, "month_closed", "这个月份已结账 / this month is already closed")
	ErrPreviousOpen        = apperr.New(apperr.FailedPrecondition, "previous_month_open", "之前的月份还没有结账，请先结账 / an earlier month is still open: close it first")
	ErrFindings            = apperr.New(apperr.Conflict, "month_has_findings", "结账前检查发现问题：处理后再结账，或注明原因强制结账 / the checks found problems: resolve them, or close with override and a reason")
	ErrStatementNotFound   = apperr.New(apperr.NotFound, "statement_not_found", "结算单不存在 / no such statement")
	ErrOrderNotFound       = apperr.New(apperr.NotFound, "order_not_found", "订单不存在 / no such order")
	ErrOrderNotOnStatement = apperr.New(apperr.FailedPrecondition, "order_not_on_statement", "该订单不在这张结算单上 / the order is not on this statement")
	ErrSignoffNotAllowed   = apperr.New(apperr.Conflict, "signoff_not_allowed", "结算单当前状态不允许此操作 / the statement's sign-off does not allow this now")
	ErrNoOpenMonth         = apperr.New(apperr.FailedPrecondition, "no_open_month", "没有可记入调整的未结账月份 / no open month to book the correction in")
)

// withFindings returns ErrFindings carrying the findings for the caller (as "findings").
func withFindings(fs []Finding) error {
	return &apperr.Error{Kind: ErrFindings.Kind, Code: ErrFindings.Code,
		Detail: fmt.Sprintf("%s（%d 项 / %d findings）", ErrFindings.Detail, len(fs), len(fs)),
		Extra:  map[string]any{"findings": fs}}
}

// openBefore returns ErrPreviousOpen naming the open months.
func openBefore(ms []Month) error {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.String()
	}
	return &apperr.Error{Kind: ErrPreviousOpen.Kind, Code: ErrPreviousOpen.Code, Detail: ErrPreviousOpen.Detail,
		Fields: []apperr.FieldError{{Field: "month", Reason: fmt.Sprintf("先结账 / close first: %v", names)}},
		Extra:  map[string]any{"open_months": names}}
}

// FindingsOf returns the findings an ErrFindings error carries.
func FindingsOf(err error) []Finding {
	e, ok := apperr.As(err)
	if !ok || e.Code != ErrFindings.Code {
		return nil
	}
	fs, _ := e.Extra["findings"].([]Finding)
	return fs
}
