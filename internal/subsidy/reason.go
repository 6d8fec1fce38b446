package subsidy

import "fmt"

// The Details of Reasons: Chinese first, for diners and counter staff, then English.

func orderDetail(code ReasonCode, p *Policy) string {
	switch code {
	case ReasonNotEligible:
		return "不符合该优惠的人群条件 / not eligible for this price"
	case ReasonNotValidToday:
		return "该优惠当天不在有效期内 / not valid on this day"
	case ReasonWrongCanteenPeriod:
		return "该优惠不适用于本食堂或本餐次 / not offered at this canteen or meal period"
	case ReasonNotOnWeekday:
		return "该优惠当天不适用 / not offered on this day of the week"
	case ReasonOutsideTimeWindow:
		w := p.When.Window
		return fmt.Sprintf("不在优惠时段 %s-%s 内下单 / ordered outside the hours %s-%s", w.From, w.To, w.From, w.To)
	case ReasonMinSpendNotMet:
		y := yuan(p.Benefit.MinSpendFen)
		return fmt.Sprintf("未达到最低消费 %s元 / minimum spend of %s yuan not met", y, y)
	}
	return string(code)
}

func detailDishNotCovered() string {
	return "该菜品不在优惠范围内 / dish not covered by this price"
}

func detailMaxItems(n int) string {
	return fmt.Sprintf("每单最多优惠 %d 份 / at most %d subsidised items per order", n, n)
}

func detailBudget() string { return "补贴资金已用完 / subsidy budget exhausted" }

func detailOutsideHome() string {
	return "非户籍所在区就餐，区级补贴不适用 / eating outside your home district: the district's share does not apply"
}

// detailLimit says which limit l stopped a unit, given the usage u before this order.
func detailLimit(l Limit, u Usage, ps *policyState) string {
	zh, en := "本月", "monthly"
	switch l.Window {
	case PerMeal:
		zh, en = "本餐次", "meal"
	case PerDay:
		zh, en = "当日", "daily"
	}
	if l.Count > 0 && u.Count > l.Count-ps.items-1 {
		return fmt.Sprintf("%s补贴名额已用完 / %s limit reached", zh, en)
	}
	return fmt.Sprintf("%s补贴额度已用完 / %s subsidy amount used up", zh, en)
}

// yuan writes fen as yuan with two decimals: 1250 -> "12.50".
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
