package funding

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Account is one of the accounts of a pledge period in the double-entry journal.
type Account string

// The accounts. Source is the sponsor's side: its balance is minus what the sponsor gave.
// Money moves source -> available (fund, top-up), available -> held (an order is placed),
// held -> spent (it is paid), held -> available (cancelled, expired), spent -> available
// (refunded), and available <-> source (adjustments).
const (
	Source    Account = "source"
	Available Account = "available"
	Held      Account = "held"
	Spent     Account = "spent"
)

// EntryKind says why a ledger transaction was written.
type EntryKind string

// The ledger transaction kinds.
const (
	KindFund    EntryKind = "fund"    // a period funded with the pledge amount when first touched
	KindTopUp   EntryKind = "topup"   // staff added money to a period
	KindAdjust  EntryKind = "adjust"  // staff corrected a period, up or down, with a reason
	KindHold    EntryKind = "hold"    // an order was placed
	KindCommit  EntryKind = "commit"  // the order was paid
	KindRelease EntryKind = "release" // the order was cancelled or expired
	KindReverse EntryKind = "reverse" // the order was refunded, wholly or in part
)

// Balance is the money of one pledge period, in fen: FundedFen = AvailableFen + HeldFen +
// SpentFen. Opened is false for a period not touched yet: its figures are what it will
// be funded with.
type Balance struct {
	PledgeID     int64  `json:"pledge_id"`
	Period       Period `json:"period"`
	FundedFen    int64  `json:"funded_fen"`
	AvailableFen int64  `json:"available_fen"`
	HeldFen      int64  `json:"held_fen"`
	SpentFen     int64  `json:"spent_fen"`
	Opened       bool   `json:"opened"`
}

// BalanceKey names one pledge period.
type BalanceKey struct {
	PledgeID int64
	Period   Period
}

// PledgeStatus is a pledge with the balance of its current period (nil when the pledge
// does not cover the day asked about).
type PledgeStatus struct {
	Pledge  Pledge   `json:"pledge"`
	Current *Balance `json:"current"`
}

// Hold is what one policy of an order asks one pledge to hold, in fen.
type Hold struct {
	PledgeID      int64 `json:"pledge_id"`
	PolicyID      int64 `json:"policy_id"`
	PolicyVersion int64 `json:"policy_version"`
	Fen           int64 `json:"fen"`
}

// MergeHolds checks holds and returns them merged by (pledge, policy) and sorted by
// pledge then policy, without zero amounts. Invalid when an id, version or amount is out
// of range or one policy names two versions of itself.
func MergeHolds(holds []Hold) ([]Hold, error) {
	var f apperr.Fields
	var out []Hold
	for i, h := range holds {
		field := fmt.Sprintf("holds[%d]", i)
		f.Check(h.PledgeID > 0, field+".pledge_id", "必须是正整数 / must be a positive id")
		f.Check(h.PolicyID > 0, field+".policy_id", "必须是正整数 / must be a positive id")
		f.Check(h.PolicyVersion > 0, field+".policy_version", "必须是正整数 / must be a positive version")
		f.Check(h.Fen >= 0 && h.Fen <= MaxFen, field+".fen", "应为 0 到 1 亿元 / must be 0 to 10,000,000,000 fen")
		if h.Fen == 0 {
			continue
		}
		j := slices.IndexFunc(out, func(o Hold) bool { return o.PledgeID == h.PledgeID && o.PolicyID == h.PolicyID })
		switch {
		case j < 0:
			out = append(out, h)
		case out[j].PolicyVersion != h.PolicyVersion:
			f.Add(field+".policy_version", "同一订单中一条规则只能有一个版本 / one order uses one version of a policy")
		default:
			out[j].Fen += h.Fen
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Hold) int {
		return cmp.Or(cmp.Compare(a.PledgeID, b.PledgeID), cmp.Compare(a.PolicyID, b.PolicyID))
	})
	return out, nil
}

// Apportion splits total in proportion to weights by the largest-remainder method: the
// parts sum to total exactly, each part is the floor of its exact share or one more, and
// ties go to the earlier weight. When total <= sum(weights) no part exceeds its weight.
// total and the weights must be >= 0; with all weights 0 every part is 0.
func Apportion(total int64, weights []int64) []int64 {
	parts := make([]int64, len(weights))
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if total <= 0 || sum <= 0 {
		return parts
	}
	rems := make([]uint64, len(weights))
	given := int64(0)
	for i, w := range weights {
		q, r := mulDiv(uint64(total), uint64(w), uint64(sum))
		parts[i], rems[i] = int64(q), r
		given += int64(q)
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for _, i := range order[:total-given] {
		parts[i]++
	}
	return parts
}

// MulDiv returns floor(a*b/c) for a, b >= 0 and c > 0, without overflow in the product;
// the result must fit in an int64.
func MulDiv(a, b, c int64) int64 {
	q, _ := mulDiv(uint64(a), uint64(b), uint64(c))
	return int64(q)
}

func mulDiv(a, b, c uint64) (q, r uint64) {
	hi, lo := bits.Mul64(a, b)
	return bits.Div64(hi, lo, c)
}
