package eligibility

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Input limits.
const (
	MinElderAge       = 60  // an elder is 60 or older on the day of application
	MaxNameRunes      = 50  // real names, including long minority names with "·"
	MaxDistrictRunes  = 30  // home district
	MaxPlatformRunes  = 20  // 美团, 饿了么, 顺丰, 滴滴 ...
	MaxWorkerIDLen    = 40  // letters, digits, '-' and '_'
	MaxRefLen         = 200 // proof_ref and evidence_ref: a reference to an upload, not the upload
	MinReasonRunes    = 2   // reject and revoke reasons
	MaxReasonRunes    = 200
	MaxRelationRunes  = 20  // 女儿, 儿子, 配偶, 邻居 ...
	MaxValidityYears  = 3   // an approval lasts at most 3 years
	MaxStartAheadDays = 90  // valid_from is today..today+90
	MaxExpiringDays   = 366 // ExpiringSoon looks at most this far ahead
	MaxListLimit      = 200 // Pending and PendingBindings return at most this many
	defaultListLimit  = 50
	maxQueryRunes     = 30 // FindDiners query
	maxFindResults    = 20 // FindDiners results
	defaultValidYears = 1  // an approval lasts 1 year unless the reviewer says otherwise
	maxFlags          = 5  // every status flag once at most
)

// ElderlyApplication is what an elder, or staff for them, fills in to join the elderly group.
// Flags and EvidenceRef (a reference to an uploaded photo of the certificate) are optional.
type ElderlyApplication struct {
	Name        string               `json:"name"`
	IDNumber    string               `json:"id_number"`
	District    string               `json:"district"`
	Flags       []subsidy.StatusFlag `json:"flags"`
	EvidenceRef string               `json:"evidence_ref"`
}

// WorkerApplication is what a new-employment worker fills in: the platform they ride or drive
// for, their id there and a reference to an uploaded photo proving it. District is optional.
type WorkerApplication struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	WorkerID string `json:"worker_id"`
	ProofRef string `json:"proof_ref"`
	District string `json:"district"`
}

// CounterRegistration registers, at the counter, an elder who has no WeChat: a diner without
// an openid and their elderly eligibility. Phone is optional. With Approve the eligibility is
// approved at once by the registering staff member, who must be a reviewer, valid from today
// for ValidDays more days (0: one year; at most 3 years).
type CounterRegistration struct {
	Name        string               `json:"name"`
	Phone       string               `json:"phone"`
	IDNumber    string               `json:"id_number"`
	District    string               `json:"district"`
	Flags       []subsidy.StatusFlag `json:"flags"`
	EvidenceRef string               `json:"evidence_ref"`
	Approve     bool                 `json:"approve"`
	ValidDays   int                  `json:"valid_days"`
}

// Registration is the outcome of RegisterAtCounter.
type Registration struct {
	Diner       Diner       `json:"diner"`
	Eligibility Eligibility `json:"eligibility"`
}

func (in ElderlyApplication) eligibility(f *apperr.Fields, today civil.Date) (Eligibility, subsidy.IDNumber) {
	e := Eligibility{Group: subsidy.Elderly, Status: Applied, Name: strings.TrimSpace(in.Name),
		District: strings.TrimSpace(in.District), EvidenceRef: strings.TrimSpace(in.EvidenceRef)}
	checkText(f, "name", e.Name, 1, MaxNameRunes)
	id := checkElderID(f, in.IDNumber, today)
	checkText(f, "district", e.District, 1, MaxDistrictRunes)
	e.Flags = checkFlags(f, in.Flags)
	checkRef(f, "evidence_ref", e.EvidenceRef, false)
	e.BirthDate = id.BirthDate()
	return e, id
}

func (in WorkerApplication) eligibility(f *apperr.Fields) Eligibility {
	e := Eligibility{Group: subsidy.Worker, Status: Applied, Name: strings.TrimSpace(in.Name),
		Platform: strings.TrimSpace(in.Platform), WorkerID: strings.TrimSpace(in.WorkerID),
		ProofRef: strings.TrimSpace(in.ProofRef), District: strings.TrimSpace(in.District),
		Flags: []subsidy.StatusFlag{}}
	checkText(f, "name", e.Name, 1, MaxNameRunes)
	checkText(f, "platform", e.Platform, 1, MaxPlatformRunes)
	f.Check(workerIDOK(e.WorkerID), "worker_id",
		fmt.Sprintf("应为 1 到 %d 位字母、数字、- 或 _ / 1 to %d letters, digits, - or _", MaxWorkerIDLen, MaxWorkerIDLen))
	checkRef(f, "proof_ref", e.ProofRef, true)
	checkText(f, "district", e.District, 0, MaxDistrictRunes)
	return e
}

// checkElderID parses s as an ID-card number of someone at least MinElderAge today. Every
// error names the field id_number and never repeats the number.
func checkElderID(f *apperr.Fields, s string, today civil.Date) subsidy.IDNumber {
	id, err := subsidy.ParseIDNumberOn(s, today)
	if err != nil {
		reason := "身份证号码无效 / ID number is invalid"
		if e, ok := apperr.As(err); ok && e.Detail != "" {
			reason = e.Detail
		}
		f.Add("id_number", reason)
		return subsidy.IDNumber{}
	}
	if subsidy.AgeOn(id.BirthDate(), today) < MinElderAge {
		f.Add("id_number", fmt.Sprintf("申请老年人资格须年满%d周岁 / an elder must be %d or older", MinElderAge, MinElderAge))
		return subsidy.IDNumber{}
	}
	return id
}

func checkFlags(f *apperr.Fields, flags []subsidy.StatusFlag) []subsidy.StatusFlag {
	out := make([]subsidy.StatusFlag, 0, len(flags))
	if len(flags) > maxFlags {
		f.Add("flags", fmt.Sprintf("最多 %d 个 / at most %d flags", maxFlags, maxFlags))
		return out
	}
	seen := map[subsidy.StatusFlag]bool{}
	for i, fl := range flags {
		field := fmt.Sprintf("flags[%d]", i)
		switch {
		case !fl.Valid():
			f.Add(field, subsidy.ErrStatusFlagInvalid.Detail)
		case seen[fl]:
			f.Add(field, "重复 / duplicate flag")
		}
		seen[fl] = true
		out = append(out, fl)
	}
	return out
}

// textOK reports whether s is valid UTF-8 of min..max runes with no control characters.
func textOK(s string, min, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

func checkText(f *apperr.Fields, field, s string, min, max int) {
	if min > 0 && s == "" {
		f.Add(field, "必填 / required")
		return
	}
	f.Check(textOK(s, min, max), field, fmt.Sprintf("应为 %d 到 %d 个字符，不含控制字符 / %d to %d characters, no control characters", min, max, min, max))
}

// checkReason checks a reject or revoke reason, already trimmed.
func checkReason(f *apperr.Fields, s string) {
	checkText(f, "reason", s, MinReasonRunes, MaxReasonRunes)
}

func workerIDOK(s string) bool {
	if len(s) < 1 || len(s) > MaxWorkerIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkRef checks a reference to an uploaded file (an object key such as
// "uploads/2026/11/ab12.jpg"): 1..200 characters of [A-Za-z0-9._:/-]. This keeps photos
// themselves (data: URLs, base64) out of the table.
func checkRef(f *apperr.Fields, field, s string, required bool) {
	if s == "" {
		f.Check(!required, field, "必填 / required")
		return
	}
	ok := len(s) <= MaxRefLen
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:/-", c) >= 0
	}
	f.Check(ok, field, fmt.Sprintf("应为上传文件的引用（最多 %d 个字符：字母、数字、. _ : / -）/ a reference to an upload: at most %d of [A-Za-z0-9._:/-]", MaxRefLen, MaxRefLen))
}

// addYears returns the same day n years later; 29 February becomes 1 March in a common year.
func addYears(d civil.Date, n int) civil.Date {
	t := time.Date(d.Year+n, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	y, m, day := t.Date()
	return civil.Date{Year: y, Month: m, Day: day}
}

// lastDayWithin returns the last day of a validity of n years starting on from.
func lastDayWithin(from civil.Date, n int) civil.Date { return addYears(from, n).AddDays(-1) }

// checkValidity checks and defaults an approval's validity: from is today..today+90 (zero:
// today), until is after from and at most 3 years on (zero: one year, from+1y-1d).
func checkValidity(f *apperr.Fields, today, from, until civil.Date, fromField, untilField string) (civil.Date, civil.Date) {
	if from.IsZero() {
		from = today
	}
	if !from.IsValid() {
		f.Add(fromField, civil.ErrDateInvalid.Detail)
		return from, until
	}
	fromOK := !from.Before(today) && !from.After(today.AddDays(MaxStartAheadDays))
	f.Check(fromOK, fromField, fmt.Sprintf("应为今天到 %d 天后 / must be today to %d days ahead", MaxStartAheadDays, MaxStartAheadDays))
	if until.IsZero() {
		until = lastDayWithin(from, defaultValidYears)
	}
	switch {
	case !until.IsValid():
		f.Add(untilField, civil.ErrDateInvalid.Detail)
	case !until.After(from):
		f.Add(untilField, "应晚于开始日期 / must be after valid_from")
	case until.After(lastDayWithin(from, MaxValidityYears)):
		f.Add(untilField, fmt.Sprintf("有效期最长 %d 年 / at most %d years", MaxValidityYears, MaxValidityYears))
	}
	return from, until
}

// normalizePhone returns the normalised phone number, "" for none, or records the field.
func normalizePhone(f *apperr.Fields, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	p, err := secure.NormalizePhone(s)
	if err != nil {
		f.Add("phone", secure.ErrPhoneInvalid.Detail)
		return ""
	}
	return p
}
