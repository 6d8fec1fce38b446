package fundingdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/funding"
)

type entryRow struct {
	bun.BaseModel `bun:"table:ledger_entries,alias:le"`
	ID            int64     `bun:"id,pk,autoincrement"`
	TxnID         int64     `bun:"txn_id"`
	CommunityID   int64     `bun:"community_id"`
	PledgeID      int64     `bun:"pledge_id"`
	Period        string    `bun:"period"`
	Account       string    `bun:"account"`
	AmountFen     int64     `bun:"amount_fen"`
	Kind          string    `bun:"kind"`
	OrderID       *int64    `bun:"order_id"`
	ActorKind     string    `bun:"actor_kind"`
	ActorID       *int64    `bun:"actor_id"`
	ActorName     string    `bun:"actor_name"`
	Memo          string    `bun:"memo"`
	CreatedAt     time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// move is fen going from one account of a pledge period to another.
type move struct {
	key      funding.BalanceKey
	from, to funding.Account
	fen      int64
}

// journalTxn is one ledger transaction: its moves become pairs of entries that cancel out.
type journalTxn struct {
	kind    funding.EntryKind
	orderID int64 // 0 for fund, topup and adjust
	actor   audit.Actor
	memo    string
	moves   []move
}

// orderActor is who the ledger moves of orders are recorded under.
var orderActor = audit.Actor{Kind: audit.System, Name: "ordering"}

// writeJournal appends t to the journal as one ledger transaction and returns its id.
// Each move is written as a debit and a credit of the same amount, so the transaction sums
// to zero; the deferred trigger ledger_txn_balanced proves it again at commit.
func writeJournal(ctx context.Context, db bun.IDB, communityID int64, t journalTxn) (int64, error) {
	var rows []entryRow
	var sum int64
	for _, m := range t.moves {
		if m.fen <= 0 || m.from == m.to {
			return 0, fmt.Errorf("fundingdb: journal %s: bad move %+v", t.kind, m)
		}
		for _, e := range []struct {
			acct funding.Account
			fen  int64
		}{{m.from, -m.fen}, {m.to, m.fen}} {
			r := entryRow{CommunityID: communityID, PledgeID: m.key.PledgeID, Period: string(m.key.Period),
				Account: string(e.acct), AmountFen: e.fen, Kind: string(t.kind), ActorKind: string(t.actor.Kind),
				ActorName: t.actor.Name, Memo: t.memo}
			if t.orderID != 0 {
				r.OrderID = &t.orderID
			}
			if t.actor.ID != 0 {
				r.ActorID = &t.actor.ID
			}
			sum += e.fen
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if sum != 0 {
		return 0, fmt.Errorf("fundingdb: journal %s does not balance (%d fen)", t.kind, sum)
	}
	var txnID int64
	if err := db.NewRaw("SELECT nextval('ledger_txn_id_seq')").Scan(ctx, &txnID); err != nil {
		return 0, fmt.Errorf("fundingdb: draw ledger transaction id: %w", err)
	}
	for i := range rows {
		rows[i].TxnID = txnID
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return 0, fmt.Errorf("fundingdb: write journal %s: %w", t.kind, err)
	}
	return txnID, nil
}
