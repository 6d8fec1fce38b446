package orderdb_test

import (
	"fmt"
	"testing"

	"github.com/canteen-oss/canteen/internal/subsidy"
)

// BenchmarkPlace places lunch orders for an elder at the elder price against real
// PostgreSQL: quote, then supply, ledger hold, limit claim and outbox in one transaction.
func BenchmarkPlace(b *testing.B) {
	f := newFixture(b)
	f.menu(100_000)
	pl := f.pledge(1_000_000_000)
	f.policy(elderPrice(pl, 300, subsidy.Limit{Window: subsidy.PerMeal, Count: 1_000_000}))
	elder := f.diner("bench-elder")
	f.elder(elder, "19450310")
	by := dinerCaller(f, elder)
	c := f.cart(f.line("长者套餐", 1), f.line("米饭", 1))
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.place(by, fmt.Sprintf("bench-key-%08d", i), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuote prices the same cart without placing it.
func BenchmarkQuote(b *testing.B) {
	f := newFixture(b)
	f.menu(100)
	pl := f.pledge(1_000_000)
	f.policy(elderPrice(pl, 300))
	elder := f.diner("bench-elder")
	f.elder(elder, "19450310")
	by := dinerCaller(f, elder)
	c := f.cart(f.line("长者套餐", 1), f.line("米饭", 1))
	b.ResetTimer()
	for range b.N {
		if _, err := f.orders.Quote(f.ctx, by, c); err != nil {
			b.Fatal(err)
		}
	}
}
