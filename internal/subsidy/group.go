// Package subsidy holds who a diner is for pricing purposes: the group, the age tier and the
// status flags that public-benefit policies select on, and the ID-card number they are proved
// with. Everything here is pure; the pricing engine (engine.go) builds on it.
package subsidy

import "github.com/canteen-oss/canteen/internal/apperr"

// A Group is the population a diner belongs to for public-benefit prices (人群).
type Group string

// The groups. A diner with no approved eligibility is General.
const (
	Elderly Group = "elderly" // 老年人
	Worker  Group = "worker"  // 新就业群体: riders, couriers, ride-hailing drivers
	General Group = "general" // 其他: everyone else, at the standard or general price
)

// ErrGroupInvalid is the Invalid error ParseGroup returns; match it with errors.Is.
var ErrGroupInvalid = apperr.New(apperr.Invalid, "group_invalid",
	"人群应为 elderly、worker 或 general / group must be elderly, worker or general")

// Valid reports whether g is one of the defined groups.
func (g Group) Valid() bool {
	switch g {
	case Elderly, Worker, General:
		return true
	}
	return false
}

// ParseGroup returns the group spelled exactly s ("elderly", "worker", "general"),
// or ErrGroupInvalid (kind Invalid).
func ParseGroup(s string) (Group, error) {
	if g := Group(s); g.Valid() {
		return g, nil
	}
	return "", ErrGroupInvalid
}
