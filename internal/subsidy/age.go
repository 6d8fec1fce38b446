package subsidy

import "github.com/canteen-oss/canteen/internal/civil"

// AgeOn returns the age in full years on day of someone born on birth: it goes up on the
// birthday itself, and someone born on 29 February turns a year older on 1 March in common
// years. It is negative when day is before birth. Both dates are Asia/Shanghai civil dates.
func AgeOn(birth, day civil.Date) int {
	age := day.Year - birth.Year
	if day.Month < birth.Month || day.Month == birth.Month && day.Day < birth.Day {
		age--
	}
	return age
}

// An AgeTier is the age band policies select on: 0 (under 60), 60, 70, 80 or 90 (90 and over).
type AgeTier int

// The age tiers; the value is the lowest age in the tier.
const (
	TierUnder60 AgeTier = 0
	Tier60      AgeTier = 60
	Tier70      AgeTier = 70
	Tier80      AgeTier = 80
	Tier90      AgeTier = 90
)

// Valid reports whether t is one of the defined tiers.
func (t AgeTier) Valid() bool {
	switch t {
	case TierUnder60, Tier60, Tier70, Tier80, Tier90:
		return true
	}
	return false
}

// TierOf returns the tier of someone aged age full years.
func TierOf(age int) AgeTier {
	switch {
	case age >= 90:
		return Tier90
	case age >= 80:
		return Tier80
	case age >= 70:
		return Tier70
	case age >= 60:
		return Tier60
	}
	return TierUnder60
}

// TierOn returns the tier on day of someone born on birth. Being computed from the date, the
// tier moves up on the birthday by itself, with no stored state to update.
func TierOn(birth, day civil.Date) AgeTier {
	return TierOf(AgeOn(birth, day))
}
