package settlement

import "context"

// Store reads the facts of a month and keeps closes, statements, sign-offs and
// adjustments (settlementdb implements it). Every method reads and writes only rows of
// the given community; a row of another community is reported as not found. Every
// change is one transaction that also writes its audit record under Scope.Actor.
//
// Methods that take a callback read the current rows inside the transaction and call it
// before writing anything else; an error from the callback is returned as is and nothing
// is written.
type Store interface {
	// Facts reads what the statements and checks of month m are made from, in one
	// snapshot.
	Facts(ctx context.Context, communityID int64, m Month) (Facts, error)
	// CheckFacts reads only what the checks of month m are made from, in one snapshot.
	CheckFacts(ctx context.Context, communityID int64, m Month) (CheckFacts, error)
	// Close closes month c.Month. In one transaction it first inserts the close row
	// (ErrMonthClosed when the month is closed already, or is being closed: a concurrent
	// closer waits for that transaction, then gets ErrMonthClosed), then reads the facts
	// of the month and calls decide, which returns the statements to write and the
	// findings the checks made, or an error. It writes the statements with their lines,
	// an Issued sign-off of each, a closed Attempt with the findings, and the audit
	// record, and returns the close.
	Close(ctx context.Context, sc Scope, c Close, decide func(Facts) ([]Statement, []Finding, error)) (Close, error)
	// RecordAttempt appends a blocked attempt a.
	RecordAttempt(ctx context.Context, a Attempt) (Attempt, error)
	// Closes returns the community's closed months, newest first, with the findings
	// overridden and the number of statements.
	Closes(ctx context.Context, communityID int64) ([]Close, error)
	// Attempts returns the community's close attempts, newest first, at most limit.
	Attempts(ctx context.Context, communityID int64, limit int) ([]Attempt, error)
	// Calendar returns the month of the community's first activity (zero: none yet) and
	// its closed months.
	Calendar(ctx context.Context, communityID int64) (first Month, closed []Month, err error)
	// Communities returns the id of every community.
	Communities(ctx context.Context) ([]int64, error)

	// Statements returns the statements q selects, without lines, each with its latest
	// sign-off status, by month (newest first), party kind and party.
	Statements(ctx context.Context, communityID int64, q StatementQuery) ([]Statement, error)
	// Statement returns one statement with its lines and sign-off history.
	// ErrStatementNotFound.
	Statement(ctx context.Context, communityID, id int64) (Statement, error)
	// Signoff locks statement id, lets decide see it (without lines, with its sign-off
	// history) and appends the sign-off decide returns. ErrStatementNotFound.
	Signoff(ctx context.Context, sc Scope, id int64, decide func(Statement) (Signoff, error)) (Signoff, error)
	// Adjust books a correction of closed statement in.StatementID, under the community's
	// settlement lock so that no close of the month it lands in runs meanwhile: target
	// sees the statement's month and the community's closed months and names the month.
	// ErrStatementNotFound, ErrOrderNotFound, ErrOrderNotOnStatement.
	Adjust(ctx context.Context, sc Scope, in AdjustmentInput, target func(statement Month, closed []Month) (Month, error)) (Adjustment, error)
}

// StatementQuery selects statements: of one month (zero: every month), belonging to one
// merchant (0: any), of one kind ("": both).
type StatementQuery struct {
	Month      Month
	MerchantID int64
	Kind       PartyKind
}
