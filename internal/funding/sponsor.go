package funding

import (
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// SponsorKind says what kind of body a sponsor is.
type SponsorKind string

// The sponsor kinds.
const (
	SponsorMerchant      SponsorKind = "merchant"       // 爱心商户: a partner merchant
	SponsorGovernment    SponsorKind = "government"     // 政府: city, district or town budget
	SponsorCharity       SponsorKind = "charity"        // 公益基金: a charity fund
	SponsorCommunityFund SponsorKind = "community_fund" // 社区自有收入: parking, charging piles
)

// Valid reports whether k is a known kind.
func (k SponsorKind) Valid() bool {
	switch k {
	case SponsorMerchant, SponsorGovernment, SponsorCharity, SponsorCommunityFund:
		return true
	}
	return false
}

// Sponsor is who pays part of a meal (资助方). A merchant sponsor may be linked to the
// partner merchant (MerchantID) whose statements it appears on. An inactive sponsor's
// pledges fund nothing.
type Sponsor struct {
	ID          int64       `json:"id"`
	CommunityID int64       `json:"community_id"`
	Kind        SponsorKind `json:"kind"`
	Name        string      `json:"name"`
	MerchantID  *int64      `json:"merchant_id"`
	Active      bool        `json:"active"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// SponsorInput is a new sponsor; it starts active. MerchantID is allowed only for kind merchant.
type SponsorInput struct {
	Kind       SponsorKind `json:"kind"`
	Name       string      `json:"name"`
	MerchantID *int64      `json:"merchant_id"`
}

// SponsorPatch changes the fields that are not nil. MerchantID 0 removes the link.
type SponsorPatch struct {
	Name       *string `json:"name"`
	MerchantID *int64  `json:"merchant_id"`
	Active     *bool   `json:"active"`
}

const maxSponsorName = 100

func (in SponsorInput) sponsor(communityID int64) (Sponsor, error) {
	var f apperr.Fields
	s := Sponsor{CommunityID: communityID, Kind: in.Kind, Name: strings.TrimSpace(in.Name), MerchantID: in.MerchantID, Active: true}
	f.Check(in.Kind.Valid(), "kind", "应为 merchant、government、charity 或 community_fund / must be merchant, government, charity or community_fund")
	checkText(&f, "name", s.Name, 1, maxSponsorName)
	if in.MerchantID != nil {
		f.Check(*in.MerchantID > 0, "merchant_id", "必须是正整数 / must be a positive id")
		f.Check(in.Kind == SponsorMerchant, "merchant_id", "只有爱心商户可关联合作商户 / only a merchant sponsor links a merchant")
	}
	return s, f.Err()
}

func (p SponsorPatch) validate() error {
	var f apperr.Fields
	if p.Name != nil {
		checkText(&f, "name", strings.TrimSpace(*p.Name), 1, maxSponsorName)
	}
	if p.MerchantID != nil {
		f.Check(*p.MerchantID >= 0, "merchant_id", "必须是正整数，0 表示移除 / must be a positive id, or 0 to remove")
	}
	return f.Err()
}

// apply validates p and changes s accordingly.
func (p SponsorPatch) apply(s *Sponsor) error {
	if err := p.validate(); err != nil {
		return err
	}
	if p.Name != nil {
		s.Name = strings.TrimSpace(*p.Name)
	}
	if p.MerchantID != nil {
		s.MerchantID = nil
		if id := *p.MerchantID; id > 0 {
			if s.Kind != SponsorMerchant {
				var f apperr.Fields
				f.Add("merchant_id", "只有爱心商户可关联合作商户 / only a merchant sponsor links a merchant")
				return f.Err()
			}
			s.MerchantID = &id
		}
	}
	if p.Active != nil {
		s.Active = *p.Active
	}
	return nil
}
