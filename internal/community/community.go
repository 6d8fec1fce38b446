// Package community holds the tenants of the system: communities (社区), which own
// everything else, and their partner merchants (合作商户), which cook and pledge subsidies.
package community

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// Community is a tenant. Code is its short, URL-safe name.
type Community struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	City      string    `json:"city"`
	District  string    `json:"district"`
	CreatedAt time.Time `json:"created_at"`
}

// Merchant is a partner merchant. ContactPhone is held in clear only in memory: it is
// encrypted at rest and shown masked (ContactPhoneMasked).
type Merchant struct {
	ID                 int64     `json:"id"`
	CommunityID        int64     `json:"community_id"`
	Name               string    `json:"name"`
	ContactName        string    `json:"contact_name"`
	ContactPhone       string    `json:"-"`
	ContactPhoneMasked string    `json:"contact_phone"`
	ContactEmail       string    `json:"contact_email"`
	Address            string    `json:"address"`
	Active             bool      `json:"active"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Errors.
var (
	ErrCommunityNotFound = apperr.New(apperr.NotFound, "community_not_found", "no such community")
	ErrMerchantNotFound  = apperr.New(apperr.NotFound, "merchant_not_found", "no such merchant")
	ErrMerchantExists    = apperr.New(apperr.Conflict, "merchant_exists", "这个商户名称已存在 / a merchant with this name exists")
	ErrCommunityExists   = apperr.New(apperr.Conflict, "community_exists", "a community with this code exists")
)

// Store keeps communities and merchants; mutations write their audit record in the same transaction.
type Store interface {
	CreateCommunity(ctx context.Context, actor audit.Actor, c Community) (Community, error)
	GetCommunity(ctx context.Context, id int64) (Community, error)
	CommunityByCode(ctx context.Context, code string) (Community, error)
	ListCommunities(ctx context.Context) ([]Community, error)
	CreateMerchant(ctx context.Context, actor audit.Actor, m Merchant) (Merchant, error)
	UpdateMerchant(ctx context.Context, actor audit.Actor, m Merchant) (Merchant, error)
	GetMerchant(ctx context.Context, communityID, id int64) (Merchant, error)
	ListMerchants(ctx context.Context, communityID int64) ([]Merchant, error)
}

// PhoneNormalizer turns user input into the canonical form of a phone number.
type PhoneNormalizer func(string) (string, error)

// Service manages communities and merchants.
type Service struct {
	store     Store
	normalize PhoneNormalizer
}

// NewService returns a Service.
func NewService(store Store, normalize PhoneNormalizer) *Service {
	return &Service{store: store, normalize: normalize}
}

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

func runes(s string, lo, hi int) bool { n := utf8.RuneCountInString(s); return n >= lo && n <= hi }

// CreateCommunity creates a tenant (an operator action, from the command line). Errors: Invalid, Conflict.
func (s *Service) CreateCommunity(ctx context.Context, actor audit.Actor, c Community) (Community, error) {
	c.Code, c.Name = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name)
	var f apperr.Fields
	f.Check(codeRE.MatchString(c.Code), "code", "2-40 lower-case letters, digits or '-'")
	f.Check(runes(c.Name, 1, 100), "name", "1-100 characters")
	if err := f.Err(); err != nil {
		return Community{}, err
	}
	return s.store.CreateCommunity(ctx, actor, c)
}

// GetCommunity returns a community. Errors: NotFound.
func (s *Service) GetCommunity(ctx context.Context, id int64) (Community, error) {
	return s.store.GetCommunity(ctx, id)
}

// CommunityByCode returns a community by its code. Errors: NotFound.
func (s *Service) CommunityByCode(ctx context.Context, code string) (Community, error) {
	return s.store.CommunityByCode(ctx, code)
}

// ListCommunities lists every community.
func (s *Service) ListCommunities(ctx context.Context) ([]Community, error) {
	return s.store.ListCommunities(ctx)
}

// MerchantInput creates a merchant; as a patch, nil fields stay as they are.
type MerchantInput struct {
	Name         *string `json:"name"`
	ContactName  *string `json:"contact_name"`
	ContactPhone *string `json:"contact_phone"`
	ContactEmail *string `json:"contact_email"`
	Address      *string `json:"address"`
	Active       *bool   `json:"active"`
}

func (s *Service) apply(m *Merchant, in MerchantInput) error {
	var f apperr.Fields
	if in.Name != nil {
		m.Name = strings.TrimSpace(*in.Name)
	}
	f.Check(runes(m.Name, 1, 100), "name", "1-100 characters")
	if in.ContactName != nil {
		m.ContactName = strings.TrimSpace(*in.ContactName)
		f.Check(runes(m.ContactName, 0, 60), "contact_name", "at most 60 characters")
	}
	if in.ContactPhone != nil {
		m.ContactPhone = ""
		if p := strings.TrimSpace(*in.ContactPhone); p != "" {
			norm, err := s.normalize(p)
			if err != nil {
				f.Add("contact_phone", "not a mainland mobile number")
			}
			m.ContactPhone = norm
		}
	}
	if in.ContactEmail != nil {
		m.ContactEmail = strings.TrimSpace(*in.ContactEmail)
		if m.ContactEmail != "" {
			_, err := mail.ParseAddress(m.ContactEmail)
			f.Check(err == nil && runes(m.ContactEmail, 3, 120), "contact_email", "not an e-mail address")
		}
	}
	if in.Address != nil {
		m.Address = strings.TrimSpace(*in.Address)
		f.Check(runes(m.Address, 0, 200), "address", "at most 200 characters")
	}
	if in.Active != nil {
		m.Active = *in.Active
	}
	return f.Err()
}

// CreateMerchant adds a partner merchant to a community. Errors: Invalid, Conflict.
func (s *Service) CreateMerchant(ctx context.Context, communityID int64, actor audit.Actor, in MerchantInput) (Merchant, error) {
	m := Merchant{CommunityID: communityID, Active: true}
	if in.Name == nil {
		in.Name = new(string)
	}
	if err := s.apply(&m, in); err != nil {
		return Merchant{}, err
	}
	return s.store.CreateMerchant(ctx, actor, m)
}

// UpdateMerchant changes a merchant of a community. Errors: Invalid, NotFound, Conflict.
func (s *Service) UpdateMerchant(ctx context.Context, communityID int64, actor audit.Actor, id int64, in MerchantInput) (Merchant, error) {
	m, err := s.store.GetMerchant(ctx, communityID, id)
	if err != nil {
		return Merchant{}, err
	}
	if err := s.apply(&m, in); err != nil {
		return Merchant{}, err
	}
	return s.store.UpdateMerchant(ctx, actor, m)
}

// GetMerchant returns a merchant of a community. Errors: NotFound.
func (s *Service) GetMerchant(ctx context.Context, communityID, id int64) (Merchant, error) {
	m, err := s.store.GetMerchant(ctx, communityID, id)
	if err != nil {
		return Merchant{}, fmt.Errorf("community: get merchant %d: %w", id, err)
	}
	return m, nil
}

// ListMerchants lists the merchants of a community.
func (s *Service) ListMerchants(ctx context.Context, communityID int64) ([]Merchant, error) {
	return s.store.ListMerchants(ctx, communityID)
}
