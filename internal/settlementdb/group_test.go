package settlementdb_test

import (
	"testing"
	"time"
)

// An order's subsidy parts keep the group and tier they were priced for; parts written
// before the columns existed are filled from the eligibility history by the same function.
func TestPricedGroupAndTier(t *testing.T) {
	f := newFixture(t)
	m := f.october()
	var parts []struct {
		Order int64   `bun:"order_id"`
		Group *string `bun:"priced_group"`
		Tier  *int    `bun:"priced_tier"`
	}
	f.scan("SELECT DISTINCT order_id, priced_group, priced_tier FROM order_subsidies ORDER BY order_id", &parts)
	want := map[int64]string{m.elderWeChat.ID: "elderly/70", m.elderCash.ID: "elderly/80", m.rider.ID: "worker/-", m.refunded.ID: "elderly/70"}
	if len(parts) != len(want) {
		t.Fatalf("parts: %+v", parts)
	}
	for _, p := range parts {
		got := "nil"
		if p.Group != nil {
			got = *p.Group + "/-"
			if p.Tier != nil {
				got = *p.Group + "/" + itoa(int64(*p.Tier))
			}
		}
		if got != want[p.Order] {
			t.Errorf("order %d priced as %s, want %s", p.Order, got, want[p.Order])
		}
	}

	// From the history: revoked on the 6th, elder1 was an elder on the 6th, not on the 7th.
	f.now = at(day(time.October, 6), 9)
	_, err := f.elig.Revoke(f.ctx, f.reviewerScope(), f.elig1, "户籍迁出")
	f.check(err)
	for d, want := range map[string]string{"2026-10-06": "elderly/70", "2026-10-07": "general/-"} {
		var g struct {
			Group string `bun:"grp"`
			Tier  *int   `bun:"tier"`
		}
		f.scan(`SELECT g.grp, g.tier FROM policy_versions pv, settlement_priced_group(?, ?, ?::date, pv.rules, false) AS g
			WHERE pv.policy_id = ?`, &g, f.cid, f.elder1, d, f.elderPol.ID)
		got := g.Group + "/-"
		if g.Tier != nil {
			got = g.Group + "/" + itoa(int64(*g.Tier))
		}
		if got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
}
