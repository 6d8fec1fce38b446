package settlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// Service runs month end over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service on store. now is the clock (time.Now when nil).
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// started fails unless m is a real month that has begun (Asia/Shanghai).
func (s *Service) started(m Month) error {
	if !m.IsValid() {
		var f apperr.Fields
		f.Add("month", "月份格式应为 YYYY-MM / month must be written YYYY-MM")
		return f.Err()
	}
	if MonthAt(s.now()).Before(m) {
		return ErrMonthInFuture
	}
	return nil
}

// CloseSettle is how long after a month's end it may be closed: a ledger move, payment or
// refund is stamped when its transaction starts, so one that began in the last moments of
// the month has this long to commit before the month's money is read.
const CloseSettle = 10 * time.Minute

// ended fails unless month m has ended at least CloseSettle ago.
func (s *Service) ended(m Month) error {
	if err := s.started(m); err != nil {
		return err
	}
	if s.now().Before(End(m).Add(CloseSettle)) {
		return ErrMonthNotEnded
	}
	return nil
}

// Preview works out, without keeping anything, what closing month m would write now:
// the statements with their breakdowns (lines left out), the checks' findings and the
// earlier months still open. m may be the current month (so far). Errors: Invalid,
// FailedPrecondition (ErrMonthInFuture), Conflict (ErrMonthClosed: read its statements).
func (s *Service) Preview(ctx context.Context, communityID int64, m Month) (Preview, error) {
	if err := s.started(m); err != nil {
		return Preview{}, err
	}
	f, err := s.store.Facts(ctx, communityID, m)
	if err != nil {
		return Preview{}, err
	}
	if slices.Contains(f.Closed, m) {
		return Preview{}, ErrMonthClosed
	}
	p := Preview{CommunityID: communityID, Month: m, Statements: []Report{}, Findings: Check(f.Checks),
		OpenBefore: f.OpenBefore(m), GeneratedAt: s.now(), MonthEnded: m.Before(MonthAt(s.now()))}
	if p.Findings == nil {
		p.Findings = []Finding{}
	}
	if p.OpenBefore == nil {
		p.OpenBefore = []Month{}
	}
	for _, st := range Build(f) {
		r := NewReport(st)
		r.Lines = nil
		p.Statements = append(p.Statements, r)
	}
	return p, nil
}

// Checks runs the checks of month m (open or closed, not in the future) and returns the
// findings; none means the month may close. Errors: Invalid, FailedPrecondition.
func (s *Service) Checks(ctx context.Context, communityID int64, m Month) ([]Finding, error) {
	if err := s.started(m); err != nil {
		return nil, err
	}
	f, err := s.store.CheckFacts(ctx, communityID, m)
	if err != nil {
		return nil, err
	}
	out := Check(f)
	if out == nil {
		out = []Finding{}
	}
	return out, nil
}

// Close closes month m by hand. The month must have ended and the months before it be
// closed; when the checks find anything it closes only with req.Override and a reason,
// which the close row and the audit record keep. Concurrent or repeated calls close the
// month once; the others get ErrMonthClosed. Errors: Invalid, FailedPrecondition
// (ErrMonthInFuture, ErrMonthNotEnded, ErrPreviousOpen), Conflict (ErrMonthClosed,
// ErrFindings carrying the findings).
func (s *Service) Close(ctx context.Context, sc Scope, m Month, req CloseRequest) (Close, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	var f apperr.Fields
	if req.Override {
		f.Check(runes(req.Reason, 2, 500), "reason", "强制结账须注明 2 到 500 字的原因 / an override needs a reason of 2 to 500 characters")
	} else {
		f.Check(req.Reason == "", "reason", "只有强制结账时填写原因 / a reason goes with override only")
	}
	if err := f.Err(); err != nil {
		return Close{}, err
	}
	if err := s.ended(m); err != nil {
		return Close{}, err
	}
	c, _, err := s.close(ctx, sc, m, Manual, req)
	return c, err
}

func (s *Service) close(ctx context.Context, sc Scope, m Month, trigger Trigger, req CloseRequest) (Close, []Finding, error) {
	c := Close{CommunityID: sc.CommunityID, Month: m, Trigger: trigger, Override: req.Override, OverrideReason: req.Reason, Actor: sc.Actor}
	var found []Finding
	out, err := s.store.Close(ctx, sc, c, func(f Facts) ([]Statement, []Finding, error) {
		if open := f.OpenBefore(m); len(open) > 0 {
			return nil, nil, openBefore(open)
		}
		found = Check(f.Checks)
		if len(found) > 0 && !req.Override {
			return nil, nil, withFindings(found)
		}
		return Build(f), found, nil
	})
	if err != nil {
		return Close{}, found, fmt.Errorf("settlement: close %s: %w", m, err)
	}
	return out, found, nil
}

// CloseDue is the monthly task: for every community it closes, in order, each month up
// to the previous one that is still open (from the community's first activity; only the
// previous month for a community without any). A month whose checks find anything is
// not closed: the attempt is recorded with its findings for finance, and that
// community's later months wait. A month another worker closed meanwhile is skipped.
// Errors of single communities are joined; the others go on.
func (s *Service) CloseDue(ctx context.Context) ([]DueResult, error) {
	prev := MonthAt(s.now()).Prev()
	ids, err := s.store.Communities(ctx)
	if err != nil {
		return nil, err
	}
	var out []DueResult
	var errs []error
	for _, id := range ids {
		r, err := s.closeDue(ctx, id, prev)
		if err != nil {
			errs = append(errs, fmt.Errorf("community %d: %w", id, err))
		}
		if len(r.Closed) > 0 || r.Blocked != nil {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

func (s *Service) closeDue(ctx context.Context, communityID int64, prev Month) (DueResult, error) {
	r := DueResult{CommunityID: communityID, Closed: []Close{}}
	first, closed, err := s.store.Calendar(ctx, communityID)
	if err != nil {
		return r, err
	}
	if first.IsZero() || prev.Before(first) {
		first = prev
	}
	sc := Scope{CommunityID: communityID, Actor: audit.Actor{Kind: audit.System, Name: "月结任务 / month-end task"}}
	for m := first; !prev.Before(m); m = m.Next() {
		if slices.Contains(closed, m) {
			continue
		}
		c, found, err := s.close(ctx, sc, m, Scheduled, CloseRequest{})
		switch {
		case err == nil:
			r.Closed = append(r.Closed, c)
		case errors.Is(err, ErrMonthClosed):
		case errors.Is(err, ErrFindings):
			a, err := s.store.RecordAttempt(ctx, Attempt{CommunityID: communityID, Month: m, Trigger: Scheduled,
				Outcome: Blocked, Findings: found, Actor: sc.Actor})
			if err != nil {
				return r, err
			}
			r.Blocked = &a
			return r, nil
		default:
			return r, err
		}
	}
	return r, nil
}

// Closes lists the community's closed months, newest first.
func (s *Service) Closes(ctx context.Context, communityID int64) ([]Close, error) {
	return s.store.Closes(ctx, communityID)
}

// Attempts lists the community's close attempts, newest first: those the checks blocked
// and those that closed.
func (s *Service) Attempts(ctx context.Context, communityID int64) ([]Attempt, error) {
	return s.store.Attempts(ctx, communityID, 200)
}

// Statements lists closed statements, without lines, with their sign-off status.
func (s *Service) Statements(ctx context.Context, communityID int64, q StatementQuery) ([]Statement, error) {
	return s.store.Statements(ctx, communityID, q)
}

// LinePage selects the lines of a statement to return: those numbered after After, at
// most Limit (1..5000; 0: 500).
type LinePage struct {
	After int
	Limit int
}

// Statement returns a closed statement with its breakdowns, its sign-off history and
// the page of its lines, for community staff. Errors: NotFound.
func (s *Service) Statement(ctx context.Context, communityID, id int64, page LinePage) (Report, error) {
	return s.statement(ctx, communityID, id, page, func(Statement) bool { return true })
}

// MerchantStatement is Statement for the users of merchant merchantID: only a statement
// that belongs to it, as sponsor or as canteen operator; any other is
// ErrStatementNotFound, as if it did not exist. Errors: NotFound.
func (s *Service) MerchantStatement(ctx context.Context, communityID, merchantID, id int64, page LinePage) (Report, error) {
	if merchantID <= 0 {
		return Report{}, ErrStatementNotFound
	}
	return s.statement(ctx, communityID, id, page, func(st Statement) bool {
		return st.MerchantID != nil && *st.MerchantID == merchantID
	})
}

func (s *Service) statement(ctx context.Context, communityID, id int64, page LinePage, mine func(Statement) bool) (Report, error) {
	st, err := s.store.Statement(ctx, communityID, id)
	if err != nil {
		return Report{}, err
	}
	if !mine(st) {
		return Report{}, ErrStatementNotFound
	}
	r := NewReport(st)
	if page.Limit <= 0 || page.Limit > 5000 {
		page.Limit = 500
	}
	lines := r.Lines[min(max(page.After, 0), len(r.Lines)):]
	r.Lines = lines[:min(page.Limit, len(lines))]
	if r.Lines == nil {
		r.Lines = []Line{}
	}
	return r, nil
}

// MerchantStatements lists the statements that belong to merchant merchantID, as sponsor
// or as canteen operator, of month m (zero: every month).
func (s *Service) MerchantStatements(ctx context.Context, communityID, merchantID int64, m Month) ([]Statement, error) {
	if merchantID <= 0 {
		return nil, ErrStatementNotFound
	}
	return s.store.Statements(ctx, communityID, StatementQuery{Month: m, MerchantID: merchantID})
}

// Confirm records that merchant merchantID agrees with statement id. Errors: NotFound
// (not its statement), Conflict (ErrSignoffNotAllowed: already confirmed), Invalid.
func (s *Service) Confirm(ctx context.Context, sc Scope, merchantID, id int64, comment string) (Signoff, error) {
	return s.signoff(ctx, sc, merchantID, id, Confirmed, comment)
}

// Dispute records that merchant merchantID disputes statement id, saying why in comment
// (2 to 500 characters). Errors as Confirm.
func (s *Service) Dispute(ctx context.Context, sc Scope, merchantID, id int64, comment string) (Signoff, error) {
	return s.signoff(ctx, sc, merchantID, id, Disputed, comment)
}

func (s *Service) signoff(ctx context.Context, sc Scope, merchantID, id int64, to SignoffStatus, comment string) (Signoff, error) {
	comment = strings.TrimSpace(comment)
	var f apperr.Fields
	if to == Disputed {
		f.Check(runes(comment, minComment, maxComment), "comment", "请说明异议，2 到 500 字 / say what is wrong in 2 to 500 characters")
	} else {
		f.Check(runes(comment, 0, maxComment), "comment", "最多 500 字 / at most 500 characters")
	}
	if err := f.Err(); err != nil {
		return Signoff{}, err
	}
	if merchantID <= 0 {
		return Signoff{}, ErrStatementNotFound
	}
	out, err := s.store.Signoff(ctx, sc, id, func(st Statement) (Signoff, error) {
		if st.MerchantID == nil || *st.MerchantID != merchantID {
			return Signoff{}, ErrStatementNotFound
		}
		if !st.Status.CanBecome(to) {
			return Signoff{}, &apperr.Error{Kind: ErrSignoffNotAllowed.Kind, Code: ErrSignoffNotAllowed.Code,
				Detail: fmt.Sprintf("%s（当前 / now: %s）", ErrSignoffNotAllowed.Detail, st.Status)}
		}
		return Signoff{Status: to, Comment: comment, Actor: sc.Actor, At: s.now()}, nil
	})
	if err != nil {
		return Signoff{}, fmt.Errorf("settlement: %s statement %d: %w", to, id, err)
	}
	return out, nil
}

// Adjust books finance's correction of a closed statement. It lands in the first month
// after the statement's that is still open, as a manual line of the same party's
// statement there, and refers to the statement (and to the order, which must be on it).
// Errors: Invalid, NotFound, FailedPrecondition (ErrOrderNotOnStatement, ErrNoOpenMonth).
func (s *Service) Adjust(ctx context.Context, sc Scope, in AdjustmentInput) (Adjustment, error) {
	in, err := in.validate()
	if err != nil {
		return Adjustment{}, err
	}
	current := MonthAt(s.now())
	a, err := s.store.Adjust(ctx, sc, in, func(stmt Month, closed []Month) (Month, error) {
		m := stmt.Next()
		for slices.Contains(closed, m) {
			m = m.Next()
		}
		if current.Before(m) {
			return Month{}, ErrNoOpenMonth
		}
		return m, nil
	})
	if err != nil {
		return Adjustment{}, fmt.Errorf("settlement: adjust statement %d: %w", in.StatementID, err)
	}
	return a, nil
}
