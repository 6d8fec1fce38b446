package monthgen

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/canteen-oss/canteen/internal/audit"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/eligibility"
	"github.com/canteen-oss/canteen/internal/funding"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// persona is one diner of the world as pricing sees them.
type persona struct {
	idx      int
	diner    int64
	openid   string // "" for an elder registered at the counter: no WeChat, pays cash
	group    subsidy.Group
	birth    civil.Date
	flags    []subsidy.StatusFlag
	district string
	home     int // index of the canteen the diner mostly eats at
	elig     []subsidy.Eligibility
}

// Districts of the world: the community and two canteens are in 越秀区, one canteen in 海珠区.
const (
	homeDistrict  = "越秀区"
	otherDistrict = "海珠区"
)

// Dishes of the world's menus: name, category and standard price (fen).
var dishList = []struct {
	name, category string
	fen            int64
}{
	{"早餐套餐", "套餐", 600},
	{"长者套餐", "套餐", 1200},
	{"营养套餐", "套餐", 1500},
	{"牛肉面", "面食", 1600},
	{"红烧肉", "荤菜", 1500},
	{"清炒时蔬", "素菜", 600},
	{"白粥", "主食", 200},
}

// Dishes served at each meal period.
var periodDishes = map[catalog.Period][]string{
	catalog.Breakfast: {"早餐套餐", "白粥"},
	catalog.Lunch:     {"长者套餐", "营养套餐", "牛肉面", "红烧肉", "清炒时蔬", "白粥"},
	catalog.Dinner:    {"长者套餐", "营养套餐", "牛肉面", "红烧肉", "清炒时蔬", "白粥"},
}

var periods = []catalog.Period{catalog.Breakfast, catalog.Lunch, catalog.Dinner}

// setup creates the community, its parties, canteens, dishes, the month's menus, the
// sponsors with their pledges, the policies, staff, and every diner with their
// eligibility, through the services (staff, merchants and WeChat diners with plain rows,
// as the existing fixtures make them).
func (w *World) setup(ctx context.Context) error {
	m := w.Month
	w.Clock.Set(shanghai(m.First().AddDays(-10), 9, 0, 0))
	w.code = fmt.Sprintf("gen-%s-%s", m.String(), w.rnd.hex(6))
	if err := w.DB.NewRaw("INSERT INTO communities (code, name, city, district) VALUES (?, '幸福里社区（生成）', '广州市', ?) RETURNING id",
		w.code, homeDistrict).Scan(ctx, &w.CommunityID); err != nil {
		return fmt.Errorf("community: %w", err)
	}
	merchant := func(name string) (int64, error) {
		var id int64
		err := w.DB.NewRaw("INSERT INTO merchants (community_id, name) VALUES (?, ?) RETURNING id", w.CommunityID, name).Scan(ctx, &id)
		w.Merchants[id] = name
		return id, err
	}
	sunshine, err := merchant("阳光餐饮")
	if err != nil {
		return err
	}
	harvest, err := merchant("禾丰餐饮")
	if err != nil {
		return err
	}
	donor, err := merchant("爱心超市")
	if err != nil {
		return err
	}
	staff := func(user, name, role string) (int64, error) {
		var id int64
		err := w.DB.NewRaw(`INSERT INTO staff (community_id, username, display_name, password_hash, roles)
			VALUES (?, ?, ?, 'x', ARRAY[?]) RETURNING id`, w.CommunityID, user+"."+w.code, name, role).Scan(ctx, &id)
		return id, err
	}
	if w.counter, err = staff("counter", "前台小王", "counter"); err != nil {
		return err
	}
	if w.reviewer, err = staff("reviewer", "审核员小陈", "reviewer"); err != nil {
		return err
	}
	finance, err := staff("finance", "财务小李", "finance")
	if err != nil {
		return err
	}
	w.Finance = audit.Actor{Kind: audit.Staff, ID: finance, Name: "财务小李"}

	if err := w.canteensAndMenus(ctx, sunshine, harvest); err != nil {
		return err
	}
	if err := w.sponsorsAndPolicies(ctx, sunshine, donor); err != nil {
		return err
	}
	return w.diners(ctx)
}

func (w *World) catalogScope() catalog.Scope {
	return catalog.Scope{CommunityID: w.CommunityID, Actor: audit.SystemActor}
}

// canteensAndMenus creates three canteens (two cooked by partner merchants, one run by
// the community; one in another district), their meal periods, the dishes and a
// published menu for every canteen, day and meal period of the month.
func (w *World) canteensAndMenus(ctx context.Context, sunshine, harvest int64) error {
	sc := w.catalogScope()
	for _, c := range []struct {
		name, district string
		merchant       int64
	}{
		{"幸福里长者饭堂", homeDistrict, sunshine},
		{"江南社区食堂", otherDistrict, harvest},
		{"街坊食堂", homeDistrict, 0},
	} {
		in := catalog.CanteenInput{Name: c.name, Address: c.name + " 一楼", District: c.district}
		if c.merchant != 0 {
			in.MerchantID = &c.merchant
		}
		ct, err := w.cat.CreateCanteen(ctx, sc, in)
		if err != nil {
			return fmt.Errorf("canteen %s: %w", c.name, err)
		}
		w.Canteens = append(w.Canteens, Canteen{ID: ct.ID, Name: c.name, District: c.district, OperatorID: c.merchant})
		for _, mp := range []catalog.MealPeriod{
			{Period: catalog.Breakfast, ServeStart: catalog.Clock(7, 0), ServeEnd: catalog.Clock(9, 0), OrderCutoff: catalog.Clock(8, 30), PreorderDays: 6, Enabled: true},
			{Period: catalog.Lunch, ServeStart: catalog.Clock(11, 0), ServeEnd: catalog.Clock(13, 30), OrderCutoff: catalog.Clock(13, 0), PreorderDays: 6, Enabled: true},
			{Period: catalog.Dinner, ServeStart: catalog.Clock(17, 0), ServeEnd: catalog.Clock(19, 0), OrderCutoff: catalog.Clock(18, 30), PreorderDays: 6, Enabled: true},
		} {
			if _, err := w.cat.SetMealPeriod(ctx, sc, ct.ID, mp); err != nil {
				return fmt.Errorf("meal period: %w", err)
			}
		}
	}
	for _, d := range dishList {
		dish, err := w.cat.CreateDish(ctx, sc, catalog.DishInput{Name: d.name, Category: d.category, PriceFen: d.fen})
		if err != nil {
			return fmt.Errorf("dish %s: %w", d.name, err)
		}
		w.dishes[d.name] = dish
	}
	// The canteen in the other district charges 13元 for the elders' set meal. Menus are
	// put and published a week ahead at most, four at a time.
	dearer := int64(1300)
	type menuJob struct {
		day     civil.Date
		canteen int
		period  catalog.Period
	}
	var mu sync.Mutex
	for week := w.Month.First(); !week.After(w.Month.Last()); week = week.AddDays(7) {
		w.Clock.Set(shanghai(week, 6, 0, 0))
		var jobs []menuJob
		for day := week; day.Before(week.AddDays(7)) && !day.After(w.Month.Last()); day = day.AddDays(1) {
			for i := range w.Canteens {
				for _, p := range periods {
					jobs = append(jobs, menuJob{day, i, p})
				}
			}
		}
		err := parallel(ctx, 4, len(jobs), func(ctx context.Context, j int) error {
			job := jobs[j]
			ct := w.Canteens[job.canteen]
			var items []catalog.MenuItemInput
			for _, name := range periodDishes[job.period] {
				it := catalog.MenuItemInput{DishID: w.dishes[name].ID, Supply: catalog.MaxSupply}
				if job.canteen == 1 && name == "长者套餐" {
					it.PriceFen = &dearer
				}
				items = append(items, it)
			}
			if _, err := w.cat.PutMenu(ctx, sc, ct.ID, job.day, job.period, items); err != nil {
				return fmt.Errorf("menu %s %s: %w", job.day, job.period, err)
			}
			menu, err := w.cat.PublishMenu(ctx, sc, ct.ID, job.day, job.period)
			if err != nil {
				return fmt.Errorf("publish menu %s %s: %w", job.day, job.period, err)
			}
			mu.Lock()
			w.menus[menuKey{ct.ID, job.day, job.period}] = menu
			mu.Unlock()
			return nil
		})
		if err != nil {
			return err
		}
	}
	w.Clock.Set(shanghai(w.Month.First().AddDays(-10), 9, 0, 0))
	return nil
}

// sponsorsAndPolicies creates the sponsors, one monthly pledge each, and the policies:
// Guangzhou's elder prices (0, 1, 3 or 5元 by status and age; city 3元 and district 3元,
// the district only for diners eating in their home district, the charity the rest), a
// stackable 20% off meat dishes for elders living alone or disabled (shares: charity and
// a partner merchant), and the riders' afternoon price (a waterfall: a partner
// merchant's pledge, sized to run out during the month, then the community's fund).
func (w *World) sponsorsAndPolicies(ctx context.Context, sunshine, donor int64) error {
	sc := funding.Scope{CommunityID: w.CommunityID, Actor: audit.SystemActor}
	n := int64(max(w.opt.Orders, 300))
	capFen := func(v int64) int64 { return min(v, funding.MaxFen) }
	for _, s := range []struct {
		name     string
		kind     funding.SponsorKind
		merchant int64
		fen      int64
	}{
		{"广州市民政局", funding.SponsorGovernment, 0, capFen(400*n + 10_000_000)},
		{"越秀区民政局", funding.SponsorGovernment, 0, capFen(400*n + 10_000_000)},
		{"幸福里慈善基金", funding.SponsorCharity, 0, capFen(900*n + 10_000_000)},
		{"社区停车收入", funding.SponsorCommunityFund, 0, capFen(300*n + 5_000_000)},
		{"爱心超市", funding.SponsorMerchant, donor, 15*n + 30_000},
		{"阳光餐饮", funding.SponsorMerchant, sunshine, capFen(200*n + 5_000_000)},
	} {
		in := funding.SponsorInput{Kind: s.kind, Name: s.name}
		if s.merchant != 0 {
			in.MerchantID = &s.merchant
		}
		sp, err := w.fund.CreateSponsor(ctx, sc, in)
		if err != nil {
			return fmt.Errorf("sponsor %s: %w", s.name, err)
		}
		pl, err := w.fund.CreatePledge(ctx, sc, funding.PledgeInput{SponsorID: sp.ID, Name: s.name + " " + w.Month.String() + " 认捐",
			Kind: funding.Monthly, AmountFen: s.fen, StartMonth: w.Month})
		if err != nil {
			return fmt.Errorf("pledge of %s: %w", s.name, err)
		}
		w.Sponsors = append(w.Sponsors, Sponsor{ID: sp.ID, Name: s.name, Kind: s.kind, MerchantID: s.merchant, PledgeID: pl.ID, PledgeFen: s.fen})
	}
	city, district, charity, fund, shop, sun := w.Sponsors[0], w.Sponsors[1], w.Sponsors[2], w.Sponsors[3], w.Sponsors[4], w.Sponsors[5]
	gz := subsidy.Funding{Mode: subsidy.FundingFixed, Parts: []subsidy.FundingPart{
		{PledgeID: city.PledgeID, SponsorID: city.ID, Label: "市级补贴", Fen: 300},
		{PledgeID: district.PledgeID, SponsorID: district.ID, Label: "区级补贴", Fen: 300, HomeDistrictOnly: true},
		{PledgeID: charity.PledgeID, SponsorID: charity.ID, Label: "慈善基金"},
	}}
	setMeal := subsidy.What{Categories: []string{"套餐"}, MaxItems: 1}
	meals := subsidy.When{Periods: []catalog.Period{catalog.Lunch, catalog.Dinner}}
	perMeal := []subsidy.Limit{{Window: subsidy.PerMeal, Count: 1, RestoreOnRefund: true}}
	elderly := []subsidy.Group{subsidy.Elderly}
	for _, p := range []subsidy.Policy{
		{Name: "长者公益价：特困供养 0元", Priority: 40, Who: subsidy.Who{Groups: elderly, Flags: []subsidy.StatusFlag{subsidy.Tekun}},
			When: meals, What: setMeal, Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 0}, Limits: perMeal, Funding: gz},
		{Name: "长者公益价：低保 1元", Priority: 30, Who: subsidy.Who{Groups: elderly, Flags: []subsidy.StatusFlag{subsidy.Dibao}},
			When: meals, What: setMeal, Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 100}, Limits: perMeal, Funding: gz},
		{Name: "长者公益价：80岁以上 3元", Priority: 20, Who: subsidy.Who{Groups: elderly, Tiers: []subsidy.AgeTier{subsidy.Tier80, subsidy.Tier90}},
			When: meals, What: setMeal, Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 300}, Limits: perMeal, Funding: gz},
		{Name: "长者公益价：60-79岁 5元", Priority: 10, Who: subsidy.Who{Groups: elderly, Tiers: []subsidy.AgeTier{subsidy.Tier60, subsidy.Tier70}},
			When: meals, What: setMeal, Benefit: subsidy.Benefit{Kind: subsidy.FixedPrice, PriceFen: 500}, Limits: perMeal, Funding: gz},
		{Name: "独居失能长者荤菜八折", Priority: 8, Stackable: true,
			Who:     subsidy.Who{Groups: elderly, Flags: []subsidy.StatusFlag{subsidy.LivingAlone, subsidy.Disabled}},
			What:    subsidy.What{Categories: []string{"荤菜"}},
			Benefit: subsidy.Benefit{Kind: subsidy.PercentOff, PercentBP: 2000, CapFen: 300},
			Limits:  []subsidy.Limit{{Window: subsidy.PerDay, Count: 2}},
			Funding: subsidy.Funding{Mode: subsidy.FundingShares, Parts: []subsidy.FundingPart{
				{PledgeID: charity.PledgeID, SponsorID: charity.ID, Label: "慈善基金", ShareBP: 6000},
				{PledgeID: sun.PledgeID, SponsorID: sun.ID, Label: "爱心商户阳光餐饮", ShareBP: 4000}}}},
		{Name: "骑手午后价：立减3元", Priority: 5, Who: subsidy.Who{Groups: []subsidy.Group{subsidy.Worker}},
			When:    subsidy.When{Window: &subsidy.TimeWindow{From: catalog.Clock(14, 0), To: catalog.Clock(16, 0)}},
			What:    subsidy.What{Categories: []string{"套餐", "面食"}, MaxItems: 1},
			Benefit: subsidy.Benefit{Kind: subsidy.AmountOff, AmountFen: 300},
			Limits:  []subsidy.Limit{{Window: subsidy.PerDay, Count: 1}},
			Funding: subsidy.Funding{Mode: subsidy.FundingWaterfall, Parts: []subsidy.FundingPart{
				{PledgeID: shop.PledgeID, SponsorID: shop.ID, Label: "爱心超市"},
				{PledgeID: fund.PledgeID, SponsorID: fund.ID, Label: "社区停车收入"}}}},
	} {
		if _, err := w.fund.CreatePolicy(ctx, sc, p); err != nil {
			return fmt.Errorf("policy %s: %w", p.Name, err)
		}
	}
	return nil
}

// Diner pools, as a share of the orders of the busiest meal of a day: every diner orders
// at most once per meal period, so a pool must be larger than its busiest meal.
const poolSlack = 1.3

// diners creates the elders (most with WeChat; some registered at the counter, who pay
// cash), riders and diners of no group, with their eligibilities through the
// eligibility service, valid from before the month for a year.
func (w *World) diners(ctx context.Context) error {
	plan := w.slotPlan()
	var maxElders, maxRiders, maxGenerals int
	for _, s := range plan {
		maxElders, maxRiders, maxGenerals = max(maxElders, s.elders), max(maxRiders, s.riders), max(maxGenerals, s.generals)
	}
	nElders := max(int(float64(maxElders)*poolSlack)+1, 8)
	nRiders := max(int(float64(maxRiders)*poolSlack)+1, 8)
	nGenerals := max(int(float64(maxGenerals)*poolSlack)+1, 8)

	today := civil.Today(w.Clock.Now())
	until := today.AddDays(364)
	revScope := eligibility.Scope{CommunityID: w.CommunityID, Reviewer: true, Actor: audit.Actor{Kind: audit.Staff, ID: w.reviewer, Name: "审核员小陈"}}
	m := w.Month.First()
	elder := func(i int, birth civil.Date, district string, home int, wechat bool, flags ...subsidy.StatusFlag) *persona {
		p := &persona{idx: i, group: subsidy.Elderly, birth: birth, district: district, home: home, flags: flags}
		if wechat {
			p.openid = fmt.Sprintf("o-elder-%s-%06d", w.code, i)
		}
		p.elig = []subsidy.Eligibility{{Group: subsidy.Elderly, BirthDate: birth, Flags: flags, District: district}}
		return p
	}
	rider := func(i, home int) *persona {
		p := &persona{idx: i, group: subsidy.Worker, district: homeDistrict, home: home, openid: fmt.Sprintf("o-rider-%s-%06d", w.code, i)}
		p.elig = []subsidy.Eligibility{{Group: subsidy.Worker, District: homeDistrict}}
		return p
	}
	general := func(i, home int) *persona {
		return &persona{idx: i, group: subsidy.General, home: home, openid: fmt.Sprintf("o-diner-%s-%06d", w.code, i)}
	}
	// The core's own diners, apart from the bulk's, so that no diner eats twice a meal.
	born := func(age, month, day int) civil.Date {
		return civil.Date{Year: m.Year - age, Month: time.Month(month), Day: day}
	}
	w.cs.elders = []*persona{
		elder(coreIdx+0, born(74, 3, 12), homeDistrict, 0, true),
		elder(coreIdx+1, born(83, 7, 2), homeDistrict, 0, true, subsidy.LivingAlone),
		elder(coreIdx+2, born(66, 1, 20), otherDistrict, 1, true),
		elder(coreIdx+3, born(91, 11, 30), homeDistrict, 2, true, subsidy.Dibao),
		elder(coreIdx+4, born(72, 5, 5), homeDistrict, 0, true, subsidy.Tekun),
		elder(coreIdx+5, born(85, 2, 14), homeDistrict, 2, false),
	}
	w.cs.riders = []*persona{rider(coreIdx, 0), rider(coreIdx+1, 1)}
	for i := range 4 {
		w.cs.generals = append(w.cs.generals, general(coreIdx+i, i%len(w.Canteens)))
	}
	for i := range nElders {
		// Aged 60 (on the day they apply) to 96, spread evenly; (birth, i / 13500) is unique.
		birth := civil.Date{Year: m.Year - 60, Month: m.Month, Day: 1}.AddDays(-11 - (i*7919)%13500)
		district := homeDistrict
		if i%9 == 4 {
			district = otherDistrict
		}
		var flags []subsidy.StatusFlag
		switch {
		case i%20 == 8:
			flags = append(flags, subsidy.Tekun)
		case i%10 == 3:
			flags = append(flags, subsidy.Dibao)
		}
		if i%12 == 5 {
			flags = append(flags, subsidy.LivingAlone)
		}
		w.elders = append(w.elders, elder(i, birth, district, i%len(w.Canteens), i%5 != 2, flags...))
	}
	for i := range nRiders {
		w.riders = append(w.riders, rider(i, i%len(w.Canteens)))
	}
	for i := range nGenerals {
		w.generals = append(w.generals, general(i, i%len(w.Canteens)))
	}
	allElders := append(append([]*persona{}, w.cs.elders...), w.elders...)
	allRiders := append(append([]*persona{}, w.cs.riders...), w.riders...)

	// WeChat diners as the login makes them; then the applications and approvals.
	var wechat []*persona
	for _, pool := range [][]*persona{allElders, allRiders, w.cs.generals, w.generals} {
		for _, p := range pool {
			if p.openid != "" {
				wechat = append(wechat, p)
			}
		}
	}
	for start := 0; start < len(wechat); start += 1000 {
		batch := wechat[start:min(start+1000, len(wechat))]
		openids := make([]string, len(batch))
		for i, p := range batch {
			openids[i] = p.openid
		}
		var rows []struct {
			ID     int64  `bun:"id"`
			OpenID string `bun:"openid"`
		}
		if err := w.DB.NewRaw(`INSERT INTO diners (community_id, app_id, openid)
			SELECT ?, ?, o FROM unnest(?::text[]) AS t(o) RETURNING id, openid`,
			w.CommunityID, w.AppID, pgTextArray(openids)).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("diners: %w", err)
		}
		byOpenID := make(map[string]int64, len(rows))
		for _, r := range rows {
			byOpenID[r.OpenID] = r.ID
		}
		for _, p := range batch {
			p.diner = byOpenID[p.openid]
		}
	}
	start := time.Now()
	err := parallel(ctx, 4, len(allElders)+len(allRiders), func(ctx context.Context, i int) error {
		if i >= len(allElders) {
			r := allRiders[i-len(allElders)]
			e, err := w.elig.ApplyWorker(ctx, eligibility.Scope{CommunityID: w.CommunityID, Actor: audit.Actor{Kind: audit.Diner, ID: r.diner, Name: "骑手"}},
				r.diner, eligibility.WorkerApplication{Name: fmt.Sprintf("骑手%04d", r.idx), Platform: []string{"美团", "饿了么", "顺丰"}[r.idx%3],
					WorkerID: fmt.Sprintf("W%s%06d", w.code, r.idx), ProofRef: fmt.Sprintf("proof/rider-%06d.jpg", r.idx), District: r.district})
			if err != nil {
				return fmt.Errorf("rider %d: %w", r.idx, err)
			}
			_, err = w.elig.Approve(ctx, revScope, e.ID, today, until)
			return err
		}
		p := allElders[i]
		region := "440104"
		if p.district == otherDistrict {
			region = "440105"
		}
		id := subsidy.CompleteIDNumber(fmt.Sprintf("%s%04d%02d%02d%03d", region, p.birth.Year, int(p.birth.Month), p.birth.Day, p.idx/13500%1000))
		name := fmt.Sprintf("长者%05d", p.idx)
		if p.openid == "" {
			reg, err := w.elig.RegisterAtCounter(ctx, revScope, eligibility.CounterRegistration{Name: name, IDNumber: id,
				District: p.district, Flags: p.flags, EvidenceRef: fmt.Sprintf("evidence/%06d", p.idx), Approve: true, ValidDays: 364})
			if err != nil {
				return fmt.Errorf("elder %d at the counter: %w", p.idx, err)
			}
			p.diner = reg.Diner.ID
			return nil
		}
		e, err := w.elig.ApplyElderly(ctx, eligibility.Scope{CommunityID: w.CommunityID, Actor: audit.Actor{Kind: audit.Diner, ID: p.diner, Name: name}},
			p.diner, eligibility.ElderlyApplication{Name: name, IDNumber: id, District: p.district, Flags: p.flags,
				EvidenceRef: fmt.Sprintf("evidence/%06d", p.idx)})
		if err != nil {
			return fmt.Errorf("elder %d: %w", p.idx, err)
		}
		_, err = w.elig.Approve(ctx, revScope, e.ID, today, until)
		return err
	})
	if err != nil {
		return err
	}
	w.logf("diners: %d elders, %d riders, %d others; eligibilities in %s", len(w.elders), len(w.riders), len(w.generals),
		time.Since(start).Round(time.Millisecond))
	return nil
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
loop:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return first
}

// pgTextArray writes ss as a PostgreSQL text[] literal.
func pgTextArray(ss []string) string {
	b := make([]byte, 0, 16*len(ss)+2)
	b = append(b, '{')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, c)
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
}
