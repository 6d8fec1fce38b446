package settlementdb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/order"
	"github.com/canteen-oss/canteen/internal/settlement"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Facts implements settlement.Store: everything is read in one repeatable-read snapshot.
func (s *Store) Facts(ctx context.Context, communityID int64, m settlement.Month) (settlement.Facts, error) {
	var f settlement.Facts
	err := snapshot(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		f, err = readFacts(ctx, tx, communityID, m)
		return err
	})
	if err != nil {
		return settlement.Facts{}, fmt.Errorf("settlementdb: facts of %s: %w", m, err)
	}
	return f, nil
}

// CheckFacts implements settlement.Store.
func (s *Store) CheckFacts(ctx context.Context, communityID int64, m settlement.Month) (settlement.CheckFacts, error) {
	var c settlement.CheckFacts
	err := snapshot(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		c, err = readChecks(ctx, tx, communityID, m)
		return err
	})
	if err != nil {
		return settlement.CheckFacts{}, fmt.Errorf("settlementdb: check facts of %s: %w", m, err)
	}
	return c, nil
}

// readFacts reads the facts of month m inside db.
func readFacts(ctx context.Context, db bun.IDB, communityID int64, m settlement.Month) (settlement.Facts, error) {
	f := settlement.Facts{CommunityID: communityID, Month: m, Sponsors: map[int64]settlement.SponsorInfo{}, Merchants: map[int64]string{}}
	var err error
	if f.FirstActivity, f.Closed, err = calendar(ctx, db, communityID); err != nil {
		return f, err
	}
	for _, read := range []func(context.Context, bun.IDB, *settlement.Facts) error{
		readLedgerMoves, readPayments, readCash, readRefunds, readAdjustments, readOriginals, readParties,
	} {
		if err := read(ctx, db, &f); err != nil {
			return f, err
		}
	}
	if f.Checks, err = readChecks(ctx, db, communityID, m); err != nil {
		return f, err
	}
	return f, nil
}

// calendar returns the month of the community's first activity (its earliest meal day
// or ledger move on spent; zero when none) and its closed months, in order.
func calendar(ctx context.Context, db bun.IDB, communityID int64) (settlement.Month, []settlement.Month, error) {
	var first struct {
		Day date       `bun:"day"`
		At  *time.Time `bun:"at"`
	}
	err := db.NewRaw(`SELECT (SELECT min(day) FROM orders WHERE community_id = ?) AS day,
		(SELECT min(created_at) FROM ledger_entries WHERE community_id = ? AND account = 'spent') AS at`,
		communityID, communityID).Scan(ctx, &first)
	if err != nil {
		return settlement.Month{}, nil, fmt.Errorf("settlementdb: first activity: %w", err)
	}
	var out settlement.Month
	if !first.Day.IsZero() {
		out = settlement.MonthOf(civil.Date(first.Day))
	}
	if first.At != nil {
		if m := settlement.MonthAt(*first.At); out.IsZero() || m.Before(out) {
			out = m
		}
	}
	var months []string
	if err := db.NewRaw("SELECT month FROM month_closes WHERE community_id = ? ORDER BY month", communityID).Scan(ctx, &months); err != nil {
		return settlement.Month{}, nil, fmt.Errorf("settlementdb: closed months: %w", err)
	}
	closed := make([]settlement.Month, len(months))
	for i, s := range months {
		closed[i] = parseMonth(s)
	}
	return out, closed, nil
}

// moveRow is one money move as the queries below read it.
type moveRow struct {
	Kind       string    `bun:"kind"`
	OrderID    int64     `bun:"order_id"`
	CanteenID  int64     `bun:"canteen_id"`
	OperatorID int64     `bun:"operator_id"`
	SponsorID  int64     `bun:"sponsor_id"`
	PledgeID   int64     `bun:"pledge_id"`
	Day        date      `bun:"day"`
	Period     string    `bun:"period"`
	Group      *string   `bun:"grp"`
	Tier       *int16    `bun:"tier"`
	At         time.Time `bun:"at"`
	Fen        int64     `bun:"fen"`
	Ref        string    `bun:"ref"`
	Memo       string    `bun:"memo"`
}

func (r moveRow) move(kind settlement.LineKind) settlement.Move {
	mv := settlement.Move{Kind: kind, OrderID: r.OrderID, CanteenID: r.CanteenID, OperatorID: r.OperatorID,
		SponsorID: r.SponsorID, PledgeID: r.PledgeID, Day: civil.Date(r.Day), Period: catalog.Period(r.Period),
		At: r.At, Fen: r.Fen, Ref: r.Ref, Memo: r.Memo}
	if r.Group != nil {
		mv.Group = subsidy.Group(*r.Group)
	} else if r.OrderID != 0 && kind.Ledger() {
		mv.Group = subsidy.General
	}
	if r.Tier != nil {
		mv.Tier = ptr(subsidy.AgeTier(*r.Tier))
	}
	return mv
}

// readLedgerMoves reads the month's ledger moves on spent, each with its pledge's
// sponsor, its order's canteen, operator and meal, and the group and tier the order's
// subsidy from that pledge was priced for (the one with the most fen), found once per
// order and pledge.
func readLedgerMoves(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	return readMoves(ctx, db, f, "ledger moves", `WITH priced AS (
			SELECT os.order_id, os.pledge_id, os.priced_group, os.priced_tier, sum(os.fen) AS fen
			FROM order_subsidies os
			WHERE os.order_id IN (SELECT order_id FROM ledger_entries
				WHERE community_id = ?0 AND account = 'spent' AND created_at >= ?1 AND created_at < ?2)
			GROUP BY os.order_id, os.pledge_id, os.priced_group, os.priced_tier),
		g AS (
			SELECT DISTINCT ON (order_id, pledge_id) order_id, pledge_id, priced_group AS grp, priced_tier AS tier
			FROM priced
			ORDER BY order_id, pledge_id, fen DESC, priced_group = 'elderly' DESC, priced_tier DESC NULLS LAST)
		SELECT le.kind, coalesce(le.order_id, 0) AS order_id, coalesce(o.canteen_id, 0) AS canteen_id,
			coalesce(ct.merchant_id, 0) AS operator_id, p.sponsor_id, le.pledge_id, o.day, coalesce(o.period, '') AS period,
			g.grp, g.tier, le.created_at AS at, le.amount_fen AS fen, 'L' || le.txn_id AS ref, le.memo
		FROM ledger_entries le
		JOIN pledges p ON p.community_id = le.community_id AND p.id = le.pledge_id
		LEFT JOIN orders o ON o.community_id = le.community_id AND o.id = le.order_id
		LEFT JOIN canteens ct ON ct.community_id = o.community_id AND ct.id = o.canteen_id
		LEFT JOIN g ON g.order_id = le.order_id AND g.pledge_id = le.pledge_id
		WHERE le.community_id = ?0 AND le.account = 'spent' AND le.created_at >= ?1 AND le.created_at < ?2
		ORDER BY le.id`, func(r moveRow) settlement.LineKind {
		switch r.Kind {
		case "commit":
			return settlement.LineSubsidy
		case "reverse":
			return settlement.LineReversal
		}
		return settlement.LineLedgerAdjust
	})
}

// readMoves runs query, which selects moveRows of the community between two instants,
// with the community and the bounds of the month, and adds each row to f's moves as the
// kind kindOf gives it. what names the moves in an error.
func readMoves(ctx context.Context, db bun.IDB, f *settlement.Facts, what, query string, kindOf func(moveRow) settlement.LineKind) error {
	from, to := bounds(f.Month)
	var rows []moveRow
	if err := db.NewRaw(query, f.CommunityID, from, to).Scan(ctx, &rows); err != nil {
		return fmt.Errorf("settlementdb: %s: %w", what, err)
	}
	f.Moves = slices.Grow(f.Moves, len(rows))
	for _, r := range rows {
		f.Moves = append(f.Moves, r.move(kindOf(r)))
	}
	return nil
}

// kindIs is a readMoves kindOf that gives every row kind.
func kindIs(kind settlement.LineKind) func(moveRow) settlement.LineKind {
	return func(moveRow) settlement.LineKind { return kind }
}

// orderJoin joins a money row's order and the canteen's operator.
const orderJoin = `JOIN orders o ON o.community_id = x.community_id AND o.id = x.order_id
	JOIN canteens ct ON ct.community_id = o.community_id AND ct.id = o.canteen_id`

// readPayments reads the WeChat payments credited in the month, by WeChat's success time.
func readPayments(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	return readMoves(ctx, db, f, "payments", `SELECT x.order_id, o.canteen_id, coalesce(ct.merchant_id, 0) AS operator_id, o.day, o.period,
			coalesce(x.success_time, x.created_at) AS at, x.amount_fen AS fen, x.transaction_id AS ref
		FROM payments x `+orderJoin+`
		WHERE x.community_id = ? AND x.outcome = 'credited'
		  AND coalesce(x.success_time, x.created_at) >= ? AND coalesce(x.success_time, x.created_at) < ?
		ORDER BY x.id`, kindIs(settlement.LinePayment))
}

// readCash reads the cash taken at the counter in the month.
func readCash(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	return readMoves(ctx, db, f, "cash", `SELECT o.id AS order_id, o.canteen_id, coalesce(ct.merchant_id, 0) AS operator_id, o.day, o.period,
			o.paid_at AS at, o.pay_fen AS fen, 'CASH' || o.id AS ref
		FROM orders o JOIN canteens ct ON ct.community_id = o.community_id AND ct.id = o.canteen_id
		WHERE o.community_id = ? AND o.payment_method = 'cash' AND o.pay_fen > 0 AND o.paid_at >= ? AND o.paid_at < ?
		ORDER BY o.id`, kindIs(settlement.LineCash))
}

// readRefunds reads the refunds of orders that succeeded in the month. Money sent back
// for an order that was no longer awaiting it (kind return) is neither a payment nor a
// refund of the canteen's.
func readRefunds(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	return readMoves(ctx, db, f, "refunds", `SELECT x.order_id, o.canteen_id, coalesce(ct.merchant_id, 0) AS operator_id, o.day, o.period,
			x.settled_at AS at, -x.amount_fen AS fen, x.out_refund_no AS ref, x.reason AS memo
		FROM refunds x `+orderJoin+`
		WHERE x.community_id = ? AND x.kind = 'order' AND x.status = 'success' AND x.settled_at >= ? AND x.settled_at < ?
		ORDER BY x.id`, kindIs(settlement.LineRefund))
}

type adjustmentRow struct {
	ID             int64     `bun:"id"`
	CommunityID    int64     `bun:"community_id"`
	Month          string    `bun:"month"`
	StatementID    int64     `bun:"statement_id"`
	StatementMonth string    `bun:"statement_month"`
	Kind           string    `bun:"kind"`
	SponsorID      *int64    `bun:"sponsor_id"`
	MerchantID     *int64    `bun:"merchant_id"`
	OrderID        int64     `bun:"order_id"`
	Fen            int64     `bun:"fen"`
	Reason         string    `bun:"reason"`
	ActorKind      string    `bun:"actor_kind"`
	ActorID        *int64    `bun:"actor_id"`
	ActorName      string    `bun:"actor_name"`
	CreatedAt      time.Time `bun:"created_at"`
	CanteenID      int64     `bun:"canteen_id"`
	OperatorID     int64     `bun:"operator_id"`
	Day            date      `bun:"day"`
	Period         string    `bun:"period"`
}

const selectAdjustments = `SELECT a.id, a.community_id, a.month, a.statement_id, s.month AS statement_month, s.kind, s.sponsor_id,
		s.merchant_id, coalesce(a.order_id, 0) AS order_id, a.fen, a.reason, a.actor_kind, a.actor_id, a.actor_name, a.created_at,
		coalesce(o.canteen_id, 0) AS canteen_id, coalesce(ct.merchant_id, 0) AS operator_id, o.day, coalesce(o.period, '') AS period
	FROM settlement_adjustments a
	JOIN statements s ON s.id = a.statement_id
	LEFT JOIN orders o ON o.community_id = a.community_id AND o.id = a.order_id
	LEFT JOIN canteens ct ON ct.community_id = o.community_id AND ct.id = o.canteen_id`

func (r adjustmentRow) adjustment() settlement.Adjustment {
	a := settlement.Adjustment{ID: r.ID, CommunityID: r.CommunityID, Month: parseMonth(r.Month), StatementID: r.StatementID,
		StatementMonth: parseMonth(r.StatementMonth), OrderID: r.OrderID, Fen: r.Fen, Reason: r.Reason,
		Actor: actorOf(r.ActorKind, r.ActorID, r.ActorName), CreatedAt: r.CreatedAt, CanteenID: r.CanteenID,
		OperatorID: r.OperatorID, Day: civil.Date(r.Day), Period: catalog.Period(r.Period)}
	a.Party = party(r.Kind, r.SponsorID, r.MerchantID)
	return a
}

// party names the party of a statement from its stored columns.
func party(kind string, sponsorID, merchantID *int64) settlement.Party {
	if kind == string(settlement.Sponsor) {
		return settlement.Party{Kind: settlement.Sponsor, ID: deref(sponsorID)}
	}
	return settlement.Party{Kind: settlement.Operator, ID: deref(merchantID)}
}

// readAdjustments reads the manual corrections that land in the month.
func readAdjustments(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	var rows []adjustmentRow
	if err := db.NewRaw(selectAdjustments+" WHERE a.community_id = ? AND a.month = ? ORDER BY a.id", f.CommunityID, f.Month.String()).
		Scan(ctx, &rows); err != nil {
		return fmt.Errorf("settlementdb: adjustments: %w", err)
	}
	for _, r := range rows {
		f.Adjustments = append(f.Adjustments, r.adjustment())
	}
	return nil
}

// readOriginals reads, for the orders of the month's moves whose meal day lies before
// the month, the earliest closed statement of each party with a line of the order.
func readOriginals(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	first := f.Month.First()
	var ids []int64
	for _, m := range f.Moves {
		if m.OrderID != 0 && !m.Day.IsZero() && m.Day.Before(first) {
			ids = append(ids, m.OrderID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		OrderID     int64  `bun:"order_id"`
		Kind        string `bun:"kind"`
		SponsorID   *int64 `bun:"sponsor_id"`
		MerchantID  *int64 `bun:"merchant_id"`
		StatementID int64  `bun:"statement_id"`
	}
	err := db.NewRaw(`SELECT DISTINCT ON (l.order_id, s.kind, coalesce(s.sponsor_id, s.merchant_id, 0))
			l.order_id, s.kind, s.sponsor_id, s.merchant_id, s.id AS statement_id
		FROM statement_lines l JOIN statements s ON s.id = l.statement_id
		WHERE s.community_id = ? AND l.order_id IN (?)
		ORDER BY l.order_id, s.kind, coalesce(s.sponsor_id, s.merchant_id, 0), s.month, s.id`,
		f.CommunityID, bun.List(ids)).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: original statements: %w", err)
	}
	for _, r := range rows {
		f.Originals = append(f.Originals, settlement.Original{OrderID: r.OrderID, Party: party(r.Kind, r.SponsorID, r.MerchantID),
			StatementID: r.StatementID})
	}
	return nil
}

// readParties reads the names of the community's sponsors and merchants.
func readParties(ctx context.Context, db bun.IDB, f *settlement.Facts) error {
	var sponsors []struct {
		ID         int64  `bun:"id"`
		Name       string `bun:"name"`
		MerchantID *int64 `bun:"merchant_id"`
	}
	if err := db.NewRaw("SELECT id, name, merchant_id FROM sponsors WHERE community_id = ?", f.CommunityID).Scan(ctx, &sponsors); err != nil {
		return fmt.Errorf("settlementdb: sponsors: %w", err)
	}
	for _, s := range sponsors {
		f.Sponsors[s.ID] = settlement.SponsorInfo{Name: s.Name, MerchantID: s.MerchantID}
	}
	var merchants []struct {
		ID   int64  `bun:"id"`
		Name string `bun:"name"`
	}
	if err := db.NewRaw("SELECT id, name FROM merchants WHERE community_id = ?", f.CommunityID).Scan(ctx, &merchants); err != nil {
		return fmt.Errorf("settlementdb: merchants: %w", err)
	}
	for _, m := range merchants {
		f.Merchants[m.ID] = m.Name
	}
	return nil
}

// liveStatuses are the statuses of an order that was paid and not refunded in full.
const liveStatuses = `('paid', 'in_kitchen', 'ready', 'picked_up')`

// readChecks reads what the checks of month m look at.
func readChecks(ctx context.Context, db bun.IDB, communityID int64, m settlement.Month) (settlement.CheckFacts, error) {
	c := settlement.CheckFacts{Month: m, EligibleDiners: map[civil.Date]int{}}
	for _, read := range []func(context.Context, bun.IDB, int64, *settlement.CheckFacts) error{
		readMeals, readEligibility, readUses, readOrderMoney, readFlagged, readBill,
	} {
		if err := read(ctx, db, communityID, &c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func days(m settlement.Month) (string, string) { return m.First().String(), m.Last().String() }

// readMeals reads the live subsidised orders of the month by priced group.
func readMeals(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	first, last := days(c.Month)
	var rows []struct {
		OrderID   int64  `bun:"order_id"`
		DinerID   int64  `bun:"diner_id"`
		CanteenID int64  `bun:"canteen_id"`
		Day       date   `bun:"day"`
		Period    string `bun:"period"`
		Group     string `bun:"grp"`
		Fen       int64  `bun:"fen"`
	}
	err := db.NewRaw(`SELECT o.id AS order_id, coalesce(o.diner_id, 0) AS diner_id, o.canteen_id, o.day, o.period,
			coalesce(os.priced_group, 'general') AS grp, sum(os.fen) AS fen
		FROM orders o JOIN order_subsidies os ON os.order_id = o.id
		WHERE o.community_id = ? AND o.day BETWEEN ? AND ? AND o.status IN `+liveStatuses+` AND o.subsidy_fen > 0
		GROUP BY o.id, coalesce(os.priced_group, 'general')
		ORDER BY o.id`, communityID, first, last).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: subsidised meals: %w", err)
	}
	for _, r := range rows {
		c.Meals = append(c.Meals, settlement.GroupMeal{OrderID: r.OrderID, DinerID: r.DinerID, CanteenID: r.CanteenID,
			Day: civil.Date(r.Day), Period: catalog.Period(r.Period), Group: subsidy.Group(r.Group), Fen: r.Fen})
	}
	return nil
}

// readEligibility reads the eligibilities of the month's subsidised diners and how many
// diners held a valid eligibility on each day of the month.
func readEligibility(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	var diners []int64
	for _, m := range c.Meals {
		if m.DinerID != 0 {
			diners = append(diners, m.DinerID)
		}
	}
	slices.Sort(diners)
	diners = slices.Compact(diners)
	if len(diners) > 0 {
		var rows []struct {
			DinerID   int64  `bun:"diner_id"`
			Group     string `bun:"grp"`
			From      date   `bun:"valid_from"`
			Until     date   `bun:"valid_until"`
			RevokedOn date   `bun:"revoked_on"`
		}
		err := db.NewRaw(`SELECT diner_id, grp, valid_from, valid_until, (revoked_at AT TIME ZONE 'Asia/Shanghai')::date AS revoked_on
			FROM eligibilities
			WHERE community_id = ? AND diner_id IN (?) AND status IN ('approved', 'expired', 'revoked') AND valid_from IS NOT NULL`,
			communityID, bun.List(diners)).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("settlementdb: eligibilities: %w", err)
		}
		for _, r := range rows {
			c.Spans = append(c.Spans, settlement.EligibilitySpan{DinerID: r.DinerID, Group: subsidy.Group(r.Group),
				From: civil.Date(r.From), Until: civil.Date(r.Until), RevokedOn: civil.Date(r.RevokedOn)})
		}
	}
	first, last := days(c.Month)
	var counts []struct {
		Day    date `bun:"day"`
		Diners int  `bun:"diners"`
	}
	err := db.NewRaw(`SELECT d::date AS day, count(DISTINCT e.diner_id) AS diners
		FROM generate_series(?::date, ?::date, interval '1 day') AS d
		LEFT JOIN eligibilities e ON e.community_id = ? AND e.status IN ('approved', 'expired', 'revoked')
			AND e.valid_from <= d::date AND d::date <= e.valid_until
			AND (e.revoked_at IS NULL OR (e.revoked_at AT TIME ZONE 'Asia/Shanghai')::date >= d::date)
		GROUP BY d`, first, last, communityID).Scan(ctx, &counts)
	if err != nil {
		return fmt.Errorf("settlementdb: eligible diners: %w", err)
	}
	for _, r := range counts {
		c.EligibleDiners[civil.Date(r.Day)] = r.Diners
	}
	return nil
}

// readUses reads, per live order of the month and policy, the units (its unreleased limit
// claim, or the units of the lines the policy paid for) and the fen it took, with the
// limits of the policy version.
func readUses(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	first, last := days(c.Month)
	var rows []struct {
		OrderID  int64  `bun:"order_id"`
		DinerID  int64  `bun:"diner_id"`
		PolicyID int64  `bun:"policy_id"`
		Version  int64  `bun:"version"`
		Day      date   `bun:"day"`
		Period   string `bun:"period"`
		Units    int    `bun:"units"`
		Fen      int64  `bun:"fen"`
	}
	err := db.NewRaw(`SELECT o.id AS order_id, o.diner_id, os.policy_id, max(os.policy_version) AS version, o.day, o.period,
			sum(os.fen) AS fen,
			coalesce((SELECT max(cl.count) FROM order_claims cl WHERE cl.order_id = o.id AND cl.policy_id = os.policy_id AND NOT cl.released),
				(SELECT sum(l.qty) FROM order_lines l WHERE l.order_id = o.id AND l.line_no IN (
					SELECT p.line_no FROM order_subsidies p WHERE p.order_id = o.id AND p.policy_id = os.policy_id)), 0) AS units
		FROM orders o JOIN order_subsidies os ON os.order_id = o.id
		WHERE o.community_id = ? AND o.day BETWEEN ? AND ? AND o.status IN `+liveStatuses+` AND o.diner_id IS NOT NULL
		GROUP BY o.id, os.policy_id
		ORDER BY o.id, os.policy_id`, communityID, first, last).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: policy uses: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	var policies []int64
	for _, r := range rows {
		policies = append(policies, r.PolicyID)
	}
	slices.Sort(policies)
	policies = slices.Compact(policies)
	var versions []struct {
		PolicyID int64           `bun:"policy_id"`
		Version  int64           `bun:"version"`
		Limits   json.RawMessage `bun:"limits"`
	}
	if err := db.NewRaw(`SELECT policy_id, version, coalesce(rules -> 'limits', '[]') AS limits FROM policy_versions
		WHERE community_id = ? AND policy_id IN (?)`, communityID, bun.List(policies)).Scan(ctx, &versions); err != nil {
		return fmt.Errorf("settlementdb: policy limits: %w", err)
	}
	type pv struct{ policy, version int64 }
	limits := map[pv][]subsidy.Limit{}
	for _, v := range versions {
		var ls []subsidy.Limit
		if err := json.Unmarshal(v.Limits, &ls); err != nil {
			return fmt.Errorf("settlementdb: limits of policy %d version %d: %w", v.PolicyID, v.Version, err)
		}
		limits[pv{v.PolicyID, v.Version}] = ls
	}
	for _, r := range rows {
		c.Uses = append(c.Uses, settlement.PolicyUse{OrderID: r.OrderID, DinerID: r.DinerID, PolicyID: r.PolicyID, Version: r.Version,
			Day: civil.Date(r.Day), Period: catalog.Period(r.Period), Units: r.Units, Fen: r.Fen,
			Limits: limits[pv{r.PolicyID, r.Version}]})
	}
	return nil
}

// readOrderMoney reads what the records say of the money of every order whose meal day
// is in the month, or with a ledger move on spent or a payment in the month. The parts,
// ledger moves and credited payments are each summed in one pass over the span of those
// orders' ids (an index range, not a probe per order) and joined to the orders.
func readOrderMoney(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	first, last := days(c.Month)
	from, to := bounds(c.Month)
	var rows []struct {
		OrderID      int64      `bun:"order_id"`
		Status       string     `bun:"status"`
		Payment      string     `bun:"payment_method"`
		Day          date       `bun:"day"`
		PaidAt       *time.Time `bun:"paid_at"`
		PayFen       int64      `bun:"pay_fen"`
		SubsidyFen   int64      `bun:"subsidy_fen"`
		RefundedFen  int64      `bun:"refunded_fen"`
		PartsFen     int64      `bun:"parts_fen"`
		CommittedFen int64      `bun:"committed_fen"`
		ReversedFen  int64      `bun:"reversed_fen"`
		CreditedFen  int64      `bun:"credited_fen"`
		Credited     int        `bun:"credited"`
	}
	err := db.NewRaw(`WITH ids AS MATERIALIZED (
			SELECT id FROM orders WHERE community_id = ?0 AND day BETWEEN ?1 AND ?2
			UNION SELECT order_id FROM ledger_entries
				WHERE community_id = ?0 AND account = 'spent' AND order_id IS NOT NULL AND created_at >= ?3 AND created_at < ?4
			UNION SELECT order_id FROM payments
				WHERE community_id = ?0 AND coalesce(success_time, created_at) >= ?3 AND coalesce(success_time, created_at) < ?4),
		span AS (SELECT min(id) AS lo, max(id) AS hi FROM ids),
		parts AS (
			SELECT os.order_id, sum(os.fen) AS fen FROM order_subsidies os
			WHERE os.order_id BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span) GROUP BY os.order_id),
		moves AS (
			SELECT le.order_id, sum(le.amount_fen) FILTER (WHERE le.kind = 'commit') AS committed,
				-sum(le.amount_fen) FILTER (WHERE le.kind = 'reverse') AS reversed
			FROM ledger_entries le
			WHERE le.community_id = ?0 AND le.account = 'spent' AND le.order_id BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span) GROUP BY le.order_id),
		credits AS (
			SELECT p.order_id, sum(p.amount_fen) AS fen, count(*) AS n FROM payments p
			WHERE p.outcome = 'credited' AND p.order_id BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span) GROUP BY p.order_id)
		SELECT o.id AS order_id, o.status, o.payment_method, o.day, o.paid_at, o.pay_fen, o.subsidy_fen, o.refunded_fen,
			coalesce(parts.fen, 0) AS parts_fen, coalesce(moves.committed, 0) AS committed_fen,
			coalesce(moves.reversed, 0) AS reversed_fen, coalesce(credits.fen, 0) AS credited_fen,
			coalesce(credits.n, 0) AS credited
		FROM orders o
		LEFT JOIN parts ON parts.order_id = o.id
		LEFT JOIN moves ON moves.order_id = o.id
		LEFT JOIN credits ON credits.order_id = o.id
		WHERE o.community_id = ?0 AND o.id IN (SELECT id FROM ids)
		ORDER BY o.id`,
		communityID, first, last, from, to).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: order money: %w", err)
	}
	c.Orders = slices.Grow(c.Orders, len(rows))
	for _, r := range rows {
		c.Orders = append(c.Orders, settlement.OrderMoney{OrderID: r.OrderID, Status: order.Status(r.Status),
			Payment: order.Payment(r.Payment), Day: civil.Date(r.Day), PaidAt: r.PaidAt, PayFen: r.PayFen,
			SubsidyFen: r.SubsidyFen, RefundedFen: r.RefundedFen, PartsFen: r.PartsFen, CommittedFen: r.CommittedFen,
			ReversedFen: r.ReversedFen, CreditedFen: r.CreditedFen, Credited: r.Credited})
	}
	return nil
}

// readFlagged reads the month's payments flagged for staff.
func readFlagged(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	from, to := bounds(c.Month)
	var rows []struct {
		OrderID       int64  `bun:"order_id"`
		TransactionID string `bun:"transaction_id"`
		Fen           int64  `bun:"amount_fen"`
		Reason        string `bun:"flag_reason"`
	}
	err := db.NewRaw(`SELECT order_id, transaction_id, amount_fen, flag_reason FROM payments
		WHERE community_id = ? AND outcome = 'flagged'
		  AND coalesce(success_time, created_at) >= ? AND coalesce(success_time, created_at) < ?
		ORDER BY id`, communityID, from, to).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: flagged payments: %w", err)
	}
	for _, r := range rows {
		c.Flagged = append(c.Flagged, settlement.FlaggedPayment{OrderID: r.OrderID, TransactionID: r.TransactionID, Fen: r.Fen, Reason: r.Reason})
	}
	return nil
}

// readBill reads the reconciliation findings of the month's days that are not matched
// and that finance has not noted as resolved: the community's own, and those no
// community owns from a WeChat Pay merchant account the community takes payments on.
// Without the reconciliation tables there is nothing to read.
func readBill(ctx context.Context, db bun.IDB, communityID int64, c *settlement.CheckFacts) error {
	var have struct {
		Entries     bool `bun:"entries"`
		Resolutions bool `bun:"resolutions"`
	}
	if err := db.NewRaw(`SELECT to_regclass('reconciliation_entries') IS NOT NULL AS entries,
		to_regclass('reconciliation_resolutions') IS NOT NULL AS resolutions`).Scan(ctx, &have); err != nil {
		return fmt.Errorf("settlementdb: reconciliation tables: %w", err)
	}
	if !have.Entries {
		return nil
	}
	resolved := ""
	if have.Resolutions {
		resolved = ` AND NOT EXISTS (SELECT 1 FROM reconciliation_resolutions r WHERE r.mchid = e.mchid AND r.day = e.day
			AND r.kind = e.kind AND r.ref = e.ref AND r.community_id = ?0)`
	}
	first, last := days(c.Month)
	var rows []struct {
		Day     date   `bun:"day"`
		Kind    string `bun:"kind"`
		Ref     string `bun:"ref"`
		OrderID int64  `bun:"order_id"`
		OurFen  *int64 `bun:"our_fen"`
		BillFen *int64 `bun:"bill_fen"`
		Outcome string `bun:"outcome"`
	}
	err := db.NewRaw(`SELECT e.day, e.kind, e.ref, coalesce(e.order_id, 0) AS order_id, e.our_fen, e.bill_fen, e.outcome
		FROM reconciliation_entries e
		WHERE e.outcome <> 'matched' AND e.day BETWEEN ?1 AND ?2
		  AND (e.community_id = ?0 OR (e.community_id IS NULL AND e.mchid IN (SELECT mchid FROM payments WHERE community_id = ?0)))`+
		resolved+` ORDER BY e.day, e.kind, e.ref`, communityID, first, last).Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("settlementdb: reconciliation findings: %w", err)
	}
	for _, r := range rows {
		c.Bill = append(c.Bill, settlement.BillEntry{Day: civil.Date(r.Day), Kind: r.Kind, Ref: r.Ref, OrderID: r.OrderID,
			OurFen: r.OurFen, BillFen: r.BillFen, Outcome: r.Outcome})
	}
	return nil
}
