package subsidy

import (
	"slices"
)

// tb is what checkQuote needs of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkQuote fails t unless q, priced from the valid input in, keeps every money invariant:
// parts sum exactly, the diner pays between 0 and the standard price, no pledge is overspent, no
// limit or MaxItems is passed, at most one exclusive policy applies to a unit, and holds and claims
// are exactly what the parts add up to. Every table test and property test runs it.
func checkQuote(t tb, in Input, q Quote) {
	t.Helper()
	byID := map[int64]*Policy{}
	for i := range in.Policies {
		byID[in.Policies[i].ID] = &in.Policies[i]
	}
	blocked := map[int64]bool{}
	for _, r := range q.Reasons {
		blocked[r.PolicyID] = true
	}
	if len(q.Lines) != len(in.Lines) {
		t.Fatalf("%d quote lines for %d cart lines", len(q.Lines), len(in.Lines))
	}
	type hk struct{ pledge, policy, version int64 }
	holds := map[hk]int64{}
	units := map[int64]int{}     // policy -> units subsidised
	amounts := map[int64]int64{} // policy -> fen subsidised
	var std, sub, pay int64
	for i, ql := range q.Lines {
		l := in.Lines[i]
		if ql.DishID != l.DishID || ql.Qty != l.Qty || ql.UnitFen != l.UnitFen || ql.StandardFen != l.UnitFen*int64(l.Qty) {
			t.Fatalf("line %d: %+v does not echo %+v", i, ql, l)
		}
		if ql.StandardFen != ql.SubsidyFen+ql.PayFen || ql.PayFen < 0 || ql.PayFen > ql.StandardFen {
			t.Fatalf("line %d: standard %d, subsidy %d, pay %d", i, ql.StandardFen, ql.SubsidyFen, ql.PayFen)
		}
		var partSum int64
		for _, p := range ql.Parts {
			if p.Fen <= 0 {
				t.Fatalf("line %d: part %+v is not positive", i, p)
			}
			partSum += p.Fen
		}
		if partSum != ql.SubsidyFen {
			t.Fatalf("line %d: parts sum to %d, subsidy is %d", i, partSum, ql.SubsidyFen)
		}
		qty, unitSum, agg := 0, int64(0), map[hk]int64{}
		for g, u := range ql.Units {
			if u.Qty < 1 || u.SubsidyFen+u.PayFen != l.UnitFen || u.PayFen < 0 || u.SubsidyFen < 0 {
				t.Fatalf("line %d unit group %d: %+v for unit price %d", i, g, u, l.UnitFen)
			}
			if g > 0 && slices.Equal(ql.Units[g-1].Parts, u.Parts) {
				t.Fatalf("line %d: unit groups %d and %d are priced alike but not merged", i, g-1, g)
			}
			qty += u.Qty
			unitSum += int64(u.Qty) * u.SubsidyFen
			var s int64
			exclusive, seen := 0, map[int64]bool{}
			for _, p := range u.Parts {
				s += p.Fen
				agg[hk{p.PledgeID, p.PolicyID, p.PolicyVersion}] += int64(u.Qty) * p.Fen
				pol := byID[p.PolicyID]
				if pol == nil || pol.Version != p.PolicyVersion {
					t.Fatalf("line %d: part of unknown policy %d v%d", i, p.PolicyID, p.PolicyVersion)
				}
				if blocked[p.PolicyID] {
					t.Fatalf("line %d: policy %d pays although the quote says it cannot apply", i, p.PolicyID)
				}
				if !pol.What.covers(&l) {
					t.Fatalf("line %d: policy %d pays for a dish it does not cover", i, p.PolicyID)
				}
				fi := slices.IndexFunc(pol.Funding.Parts, func(f FundingPart) bool { return f.PledgeID == p.PledgeID })
				if fi < 0 || pol.Funding.Parts[fi].SponsorID != p.SponsorID {
					t.Fatalf("line %d: part %+v is not one of policy %d's funding parts", i, p, p.PolicyID)
				}
				if !seen[p.PolicyID] {
					seen[p.PolicyID] = true
					units[p.PolicyID] += u.Qty
					if !pol.Stackable {
						exclusive++
					}
				}
				amounts[p.PolicyID] += int64(u.Qty) * p.Fen
			}
			if s != u.SubsidyFen {
				t.Fatalf("line %d unit group %d: parts sum to %d, subsidy is %d", i, g, s, u.SubsidyFen)
			}
			if exclusive > 1 {
				t.Fatalf("line %d unit group %d: %d exclusive policies apply", i, g, exclusive)
			}
		}
		if qty != l.Qty || unitSum != ql.SubsidyFen {
			t.Fatalf("line %d: unit groups hold %d units and %d fen, want %d and %d", i, qty, unitSum, l.Qty, ql.SubsidyFen)
		}
		for _, p := range ql.Parts {
			k := hk{p.PledgeID, p.PolicyID, p.PolicyVersion}
			if agg[k] != p.Fen {
				t.Fatalf("line %d: part %+v, but its units add up to %d", i, p, agg[k])
			}
			holds[k] += p.Fen
			delete(agg, k)
		}
		if len(agg) > 0 {
			t.Fatalf("line %d: unit parts %v missing from the line's parts", i, agg)
		}
		std, sub, pay = std+ql.StandardFen, sub+ql.SubsidyFen, pay+ql.PayFen
	}
	if q.StandardFen != std || q.SubsidyFen != sub || q.PayFen != pay {
		t.Fatalf("totals %d/%d/%d, lines add up to %d/%d/%d", q.StandardFen, q.SubsidyFen, q.PayFen, std, sub, pay)
	}

	perPledge := map[int64]int64{}
	for i, h := range q.Holds {
		k := hk{h.PledgeID, h.PolicyID, h.PolicyVersion}
		if h.Fen <= 0 || holds[k] != h.Fen {
			t.Fatalf("hold %+v, parts add up to %d", h, holds[k])
		}
		if pol := byID[h.PolicyID]; !slices.ContainsFunc(pol.Funding.Parts, func(f FundingPart) bool {
			return f.PledgeID == h.PledgeID && f.SponsorID == h.SponsorID
		}) {
			t.Fatalf("hold %+v names a sponsor other than policy %d's", h, h.PolicyID)
		}
		if i > 0 {
			p := q.Holds[i-1]
			if p.PledgeID > h.PledgeID || p.PledgeID == h.PledgeID && p.PolicyID >= h.PolicyID {
				t.Fatalf("holds not sorted: %+v before %+v", p, h)
			}
		}
		delete(holds, k)
		perPledge[h.PledgeID] += h.Fen
	}
	if len(holds) > 0 {
		t.Fatalf("parts %v have no hold", holds)
	}
	for pledge, fen := range perPledge {
		if fen > in.Available[pledge] {
			t.Fatalf("pledge %d: holds %d fen, only %d available", pledge, fen, in.Available[pledge])
		}
	}

	claims := map[UsageKey]Claim{}
	for _, c := range q.Claims {
		claims[UsageKey{c.PolicyID, c.Window}] = c
	}
	if len(claims) != len(q.Claims) {
		t.Fatalf("duplicate claims: %+v", q.Claims)
	}
	for id, n := range units {
		pol := byID[id]
		if pol.What.MaxItems > 0 && n > pol.What.MaxItems {
			t.Fatalf("policy %d subsidises %d units, max_items is %d", id, n, pol.What.MaxItems)
		}
		for _, l := range pol.Limits {
			k := UsageKey{id, l.Window}
			c, ok := claims[k]
			if !ok || c.Count != n || c.AmountFen != amounts[id] || c.PolicyVersion != pol.Version ||
				c.Key != l.Window.Key(in.Day, in.Period) {
				t.Fatalf("policy %d: claim %+v (found %v), want %d units and %d fen", id, c, ok, n, amounts[id])
			}
			u := in.Usage[k]
			if l.Count > 0 && u.Count+c.Count > l.Count || l.AmountFen > 0 && u.AmountFen+c.AmountFen > l.AmountFen {
				t.Fatalf("policy %d: %s limit %+v passed: used %+v, claims %+v", id, l.Window, l, u, c)
			}
			delete(claims, k)
		}
	}
	if len(claims) > 0 {
		t.Fatalf("claims %v for policies that subsidise nothing or have no such limit", claims)
	}
}
