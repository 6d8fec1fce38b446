package subsidy

import "github.com/canteen-oss/canteen/internal/apperr"

// A StatusFlag is a hardship or entitlement status that policies may select on. It is
// sensitive: kitchen and counter screens must never show it.
type StatusFlag string

// The status flags.
const (
	Dibao       StatusFlag = "dibao"        // 低保: minimum-livelihood guarantee
	Tekun       StatusFlag = "tekun"        // 特困: extreme-poverty support
	Disabled    StatusFlag = "disabled"     // 失能: unable to care for oneself
	LivingAlone StatusFlag = "living_alone" // 独居: living alone
	Veteran     StatusFlag = "veteran"      // 优抚对象: veterans and families entitled to special care
)

// ErrStatusFlagInvalid is the Invalid error ParseStatusFlag returns; match it with errors.Is.
var ErrStatusFlagInvalid = apperr.New(apperr.Invalid, "status_flag_invalid",
	"未知的身份标记 / unknown status flag")

// Valid reports whether f is one of the defined status flags.
func (f StatusFlag) Valid() bool {
	switch f {
	case Dibao, Tekun, Disabled, LivingAlone, Veteran:
		return true
	}
	return false
}

// ParseStatusFlag returns the flag spelled exactly s ("dibao", "tekun", "disabled",
// "living_alone", "veteran"), or ErrStatusFlagInvalid (kind Invalid).
func ParseStatusFlag(s string) (StatusFlag, error) {
	if f := StatusFlag(s); f.Valid() {
		return f, nil
	}
	return "", ErrStatusFlagInvalid
}
