package eligibility

import (
	"fmt"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Errors of eligibility. Match them with errors.Is: apperr.Error matches by kind and code, so
// an error with a more specific detail still matches its sentinel. None of them names
// personal data.
var (
	ErrNotFound        = apperr.New(apperr.NotFound, "eligibility_not_found", "资格申请不存在 / no such eligibility")
	ErrDinerNotFound   = apperr.New(apperr.NotFound, "diner_not_found", "就餐人不存在 / no such diner")
	ErrBindingNotFound = apperr.New(apperr.NotFound, "family_binding_not_found", "家属绑定不存在 / no such family binding")
	ErrStaffNotFound   = apperr.New(apperr.NotFound, "staff_not_found", "工作人员不存在 / no such staff member in this community")

	ErrExists = apperr.New(apperr.Conflict, "eligibility_exists",
		"此人已有该人群的有效资格或待审申请 / this person already has a live eligibility or application for this group")
	ErrBindingExists = apperr.New(apperr.Conflict, "family_binding_exists",
		"已有待确认或已确认的绑定 / a pending or confirmed binding already exists")

	ErrNotApplied = apperr.New(apperr.FailedPrecondition, "eligibility_not_applied",
		"只能审核待审的申请 / only an application waiting for review can be approved or rejected")
	ErrNotApproved = apperr.New(apperr.FailedPrecondition, "eligibility_not_approved",
		"只能撤销或续期已通过的资格 / only an approved eligibility can be revoked or renewed")
	ErrNoIDNumber = apperr.New(apperr.FailedPrecondition, "eligibility_no_id_number",
		"该资格没有身份证号码 / this eligibility has no ID number")
	ErrBindingState = apperr.New(apperr.FailedPrecondition, "family_binding_state",
		"绑定状态不允许此操作 / the binding's status does not allow this")

	ErrReviewerRequired = apperr.New(apperr.Forbidden, "reviewer_required",
		"需要资格审核员 / only a reviewer may do this")
	ErrNotAllowed = apperr.New(apperr.Forbidden, "eligibility_not_allowed",
		"无权为该就餐人操作 / you may not act for this diner")
)

// inState returns sentinel with a detail naming the current status.
func inState[S ~string](sentinel *apperr.Error, status S) error {
	return &apperr.Error{Kind: sentinel.Kind, Code: sentinel.Code,
		Detail: fmt.Sprintf("%s (当前状态 / status now: %s)", sentinel.Detail, status)}
}
