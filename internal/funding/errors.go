package funding

import (
	"fmt"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Errors of funding. Match them with errors.Is: apperr.Error matches by kind and code, so
// an error carrying field details still matches its sentinel.
var (
	ErrSponsorNotFound  = apperr.New(apperr.NotFound, "sponsor_not_found", "资助方不存在 / no such sponsor")
	ErrPledgeNotFound   = apperr.New(apperr.NotFound, "pledge_not_found", "认捐不存在 / no such pledge")
	ErrPolicyNotFound   = apperr.New(apperr.NotFound, "policy_not_found", "公益价规则不存在 / no such policy")
	ErrMerchantNotFound = apperr.New(apperr.NotFound, "merchant_not_found", "合作商户不存在 / no such merchant")
	ErrCanteenNotFound  = apperr.New(apperr.NotFound, "canteen_not_found", "食堂不存在 / no such canteen")

	ErrSponsorNameTaken = apperr.New(apperr.Conflict, "sponsor_name_taken", "已有同名资助方 / a sponsor with this name exists")
	ErrPledgeNameTaken  = apperr.New(apperr.Conflict, "pledge_name_taken", "该资助方已有同名认捐 / the sponsor has a pledge with this name")
	ErrSponsorInactive  = apperr.New(apperr.FailedPrecondition, "sponsor_inactive", "资助方已停用 / the sponsor is inactive")
	ErrPledgeInactive   = apperr.New(apperr.FailedPrecondition, "pledge_inactive", "认捐已停用 / the pledge is inactive")

	// ErrBudgetExhausted: a pledge cannot give what a hold asks (its period has too little
	// available, or the pledge no longer funds that day). Its cause is a *BudgetError.
	ErrBudgetExhausted = apperr.New(apperr.Conflict, "budget_exhausted", "补贴额度已用完 / the subsidy budget is exhausted")
	// ErrBalanceBelowZero: an adjustment would make a period's available money negative.
	ErrBalanceBelowZero = apperr.New(apperr.Conflict, "balance_below_zero", "可用额度不足，不能调减到负数 / available money cannot go below zero")
	// ErrOrderHeld: the order already holds subsidy money; an order places its holds once.
	ErrOrderHeld = apperr.New(apperr.Conflict, "order_already_held", "该订单已占用补贴额度 / the order already holds subsidy money")
	// ErrOrderNotCommitted: a refund was reversed for an order whose holds are not yet paid.
	ErrOrderNotCommitted = apperr.New(apperr.FailedPrecondition, "order_not_committed", "订单尚未支付 / the order's subsidy is not committed")
	// ErrRefundExceedsPaid: the refunds of an order would pass what was paid, or name another paid total.
	ErrRefundExceedsPaid = apperr.New(apperr.Conflict, "refund_exceeds_paid", "退款超过实付金额 / refunds exceed the amount paid")
	// ErrLedgerMismatch: the balances disagree with the journal. A bug; never expected.
	ErrLedgerMismatch = apperr.New(apperr.Internal, "ledger_mismatch", "账目不平 / the ledger does not balance")
)

// BudgetError is the cause of ErrBudgetExhausted: which pledge could not give, for which
// period, and why. Get it with errors.As.
type BudgetError struct {
	PledgeID int64
	Period   Period
	Reason   string
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("pledge %d period %s: %s", e.PledgeID, e.Period, e.Reason)
}

// BudgetExhausted returns ErrBudgetExhausted naming pledge id, period and reason.
func BudgetExhausted(pledgeID int64, period Period, reason string) error {
	return &apperr.Error{Kind: ErrBudgetExhausted.Kind, Code: ErrBudgetExhausted.Code,
		Detail: fmt.Sprintf("认捐 %d 的补贴额度不足 / pledge %d has not enough budget left", pledgeID, pledgeID),
		Fields: []apperr.FieldError{{Field: "pledge_id", Reason: fmt.Sprintf("%d: %s", pledgeID, reason)}},
		Err:    &BudgetError{PledgeID: pledgeID, Period: period, Reason: reason}}
}

// WithField returns a copy of sentinel naming field for reason, caused by err; errors.Is
// still matches sentinel.
func WithField(sentinel *apperr.Error, field, reason string, err error) error {
	return &apperr.Error{Kind: sentinel.Kind, Code: sentinel.Code, Detail: sentinel.Detail,
		Fields: []apperr.FieldError{{Field: field, Reason: reason}}, Err: err}
}
