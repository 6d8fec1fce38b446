package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// Store keeps accounts and sessions. Mutations write their audit record in the
// same transaction.
type Store interface {
	StaffByUsername(ctx context.Context, username string) (Staff, string, error) // account and password hash; ErrStaffNotFound
	GetStaff(ctx context.Context, communityID, id int64) (Staff, error)
	ListStaff(ctx context.Context, communityID int64) ([]Staff, error)
	CreateStaff(ctx context.Context, actor audit.Actor, s Staff, passwordHash string) (Staff, error)
	UpdateStaff(ctx context.Context, actor audit.Actor, s Staff, passwordHash string) (Staff, error) // empty hash keeps the password; disabling or a new password revokes sessions
	UpsertDiner(ctx context.Context, communityID int64, appID, openID, unionID string) (Diner, error)
	CreateSession(ctx context.Context, tokenHash []byte, p Principal, expiresAt time.Time) error
	SessionPrincipal(ctx context.Context, tokenHash []byte, now time.Time) (Principal, error) // ErrNoSession
	// RevokeSession ends a session; ending a device's session revokes the device too.
	RevokeSession(ctx context.Context, tokenHash []byte, now time.Time) error
	// PurgeSessions deletes the sessions, and the devices, that ended before expiredBefore.
	PurgeSessions(ctx context.Context, expiredBefore time.Time) (int64, error)
	DeviceStore
}

// Limiter counts attempts per key in a fixed window.
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// WeChatLogin exchanges a wx.login code for the caller's openid (and unionid, if any).
type WeChatLogin func(ctx context.Context, code string) (openID, unionID string, err error)

// Options configure a Service.
type Options struct {
	StaffTTL   time.Duration
	DinerTTL   time.Duration
	DeviceTTL  time.Duration // DefaultDeviceTTL when zero
	BcryptCost int           // bcrypt.DefaultCost when zero
	AppID      string
	Now        func() time.Time
}

// Service logs people in and out and manages staff accounts.
type Service struct {
	store   Store
	limiter Limiter
	wechat  WeChatLogin
	opt     Options
	dummy   []byte // a hash compared against when the username is unknown, so timing does not tell
}

// NewService returns a Service.
func NewService(store Store, limiter Limiter, wechat WeChatLogin, opt Options) *Service {
	if opt.BcryptCost == 0 {
		opt.BcryptCost = bcrypt.DefaultCost
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DeviceTTL == 0 {
		opt.DeviceTTL = DefaultDeviceTTL
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not a password"), opt.BcryptCost)
	return &Service{store: store, limiter: limiter, wechat: wechat, opt: opt, dummy: dummy}
}

// HashToken returns the stored form of a bearer token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StaffLogin checks a username and password. Attempts are limited per username and
// client address; a disabled account cannot log in. Errors: Invalid, Unauthenticated,
// TooManyRequests.
func (s *Service) StaffLogin(ctx context.Context, username, password, clientIP string) (Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var f apperr.Fields
	f.Check(username != "", "username", "required")
	f.Check(password != "", "password", "required")
	if err := f.Err(); err != nil {
		return Session{}, err
	}
	ok, retry, err := s.limiter.Allow(ctx, "login:"+username+"|"+clientIP)
	if err != nil {
		return Session{}, fmt.Errorf("auth: login limiter: %w", err)
	}
	if !ok {
		return Session{}, apperr.New(apperr.TooManyRequests, "login_rate_limited",
			fmt.Sprintf("登录尝试过多，请 %d 秒后再试 / too many login attempts, retry in %d s", int(retry.Seconds())+1, int(retry.Seconds())+1))
	}
	st, hash, err := s.store.StaffByUsername(ctx, username)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password))
			return Session{}, ErrBadCredentials
		}
		return Session{}, fmt.Errorf("auth: login %q: %w", username, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || st.DisabledAt != nil {
		return Session{}, ErrBadCredentials
	}
	return s.issue(ctx, st.Principal(), s.opt.StaffTTL)
}

// DinerLogin exchanges a wx.login code for a diner session in a community, creating
// the diner on first login. Errors: Invalid, Unauthenticated (bad code), NotFound
// (community), Transient (WeChat unreachable).
func (s *Service) DinerLogin(ctx context.Context, communityID int64, code string) (Session, error) {
	var f apperr.Fields
	f.Check(communityID > 0, "community_id", "required")
	f.Check(code != "" && len(code) <= 128, "code", "required, at most 128 characters")
	if err := f.Err(); err != nil {
		return Session{}, err
	}
	openID, unionID, err := s.wechat(ctx, code)
	if err != nil {
		return Session{}, fmt.Errorf("auth: wechat login: %w", err)
	}
	d, err := s.store.UpsertDiner(ctx, communityID, s.opt.AppID, openID, unionID)
	if err != nil {
		return Session{}, fmt.Errorf("auth: diner login: %w", err)
	}
	return s.issue(ctx, d.Principal(), s.opt.DinerTTL)
}

func (s *Service) issue(ctx context.Context, p Principal, ttl time.Duration) (Session, error) {
	token := newToken()
	exp := s.opt.Now().Add(ttl).UTC().Truncate(time.Second)
	if err := s.store.CreateSession(ctx, HashToken(token), p, exp); err != nil {
		return Session{}, fmt.Errorf("auth: create session: %w", err)
	}
	return Session{Token: token, ExpiresAt: exp, Principal: p}, nil
}

// Authenticate returns the principal of a bearer token. Errors: Unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 128 {
		return Principal{}, ErrNoSession
	}
	return s.store.SessionPrincipal(ctx, HashToken(token), s.opt.Now())
}

// Logout revokes the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.RevokeSession(ctx, HashToken(token), s.opt.Now())
}

// PurgeSessions deletes sessions and devices that expired or were revoked more than a
// day ago, and says how many.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	return s.store.PurgeSessions(ctx, s.opt.Now().Add(-24*time.Hour))
}

// StaffInput creates a staff account.
type StaffInput struct {
	Username    string  `json:"username"`
	DisplayName string  `json:"display_name"`
	Password    string  `json:"password"`
	Roles       []Role  `json:"roles"`
	CanteenIDs  []int64 `json:"canteen_ids"`
	MerchantID  *int64  `json:"merchant_id"`
}

// StaffPatch changes a staff account; nil fields stay as they are.
type StaffPatch struct {
	DisplayName *string  `json:"display_name"`
	Password    *string  `json:"password"`
	Roles       *[]Role  `json:"roles"`
	CanteenIDs  *[]int64 `json:"canteen_ids"`
	MerchantID  *int64   `json:"merchant_id"`
	Disabled    *bool    `json:"disabled"`
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,39}$`)

func checkAccount(f *apperr.Fields, st Staff, password *string) {
	f.Check(usernameRE.MatchString(st.Username), "username", "3-40 lower-case letters, digits, '.', '_' or '-'")
	n := utf8.RuneCountInString(st.DisplayName)
	f.Check(n >= 1 && n <= 60, "display_name", "1-60 characters")
	if password != nil {
		f.Check(utf8.RuneCountInString(*password) >= 10 && len(*password) <= 72, "password", "10-72 characters")
	}
	f.Check(len(st.Roles) > 0, "roles", "at least one role")
	for i, r := range st.Roles {
		f.Check(slices.Contains(Roles, r), fmt.Sprintf("roles[%d]", i), "unknown role")
	}
	isMerchant := slices.Contains(st.Roles, Merchant)
	f.Check(!isMerchant || len(st.Roles) == 1, "roles", "a merchant user has no other role")
	f.Check(isMerchant == (st.MerchantID != nil), "merchant_id", "required for, and only for, the merchant role")
	for i, id := range st.CanteenIDs {
		f.Check(id > 0, fmt.Sprintf("canteen_ids[%d]", i), "must be a positive id")
	}
}

// CreateStaff creates an account in the caller's community. Errors: Invalid, Conflict.
func (s *Service) CreateStaff(ctx context.Context, by Principal, in StaffInput) (Staff, error) {
	st := Staff{CommunityID: by.CommunityID, Username: strings.ToLower(strings.TrimSpace(in.Username)),
		DisplayName: strings.TrimSpace(in.DisplayName), Roles: dedupe(in.Roles), CanteenIDs: dedupe(in.CanteenIDs), MerchantID: in.MerchantID}
	if st.CanteenIDs == nil {
		st.CanteenIDs = []int64{}
	}
	var f apperr.Fields
	checkAccount(&f, st, &in.Password)
	if err := f.Err(); err != nil {
		return Staff{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.opt.BcryptCost)
	if err != nil {
		return Staff{}, fmt.Errorf("auth: hash password: %w", err)
	}
	return s.store.CreateStaff(ctx, by.Actor(), st, string(hash))
}

// UpdateStaff changes an account of the caller's community. Disabling an account
// or setting its password ends its sessions. Errors: Invalid, NotFound, FailedPrecondition.
func (s *Service) UpdateStaff(ctx context.Context, by Principal, id int64, p StaffPatch) (Staff, error) {
	st, err := s.store.GetStaff(ctx, by.CommunityID, id)
	if err != nil {
		return Staff{}, err
	}
	if p.DisplayName != nil {
		st.DisplayName = strings.TrimSpace(*p.DisplayName)
	}
	if p.Roles != nil {
		st.Roles = dedupe(*p.Roles)
	}
	if p.CanteenIDs != nil {
		st.CanteenIDs = dedupe(*p.CanteenIDs)
		if st.CanteenIDs == nil {
			st.CanteenIDs = []int64{}
		}
	}
	if p.MerchantID != nil {
		st.MerchantID = p.MerchantID
		if *p.MerchantID == 0 {
			st.MerchantID = nil
		}
	}
	if p.Disabled != nil {
		switch {
		case *p.Disabled && st.DisabledAt == nil:
			now := s.opt.Now().UTC()
			st.DisabledAt = &now
		case !*p.Disabled:
			st.DisabledAt = nil
		}
	}
	var f apperr.Fields
	checkAccount(&f, st, p.Password)
	if err := f.Err(); err != nil {
		return Staff{}, err
	}
	if id == by.ID && (st.DisabledAt != nil || !slices.Contains(st.Roles, Admin)) && by.HasAny(Admin) {
		return Staff{}, apperr.New(apperr.FailedPrecondition, "cannot_demote_self",
			"不能停用自己或取消自己的管理员角色 / you cannot disable yourself or drop your own admin role")
	}
	var hash string
	if p.Password != nil {
		b, err := bcrypt.GenerateFromPassword([]byte(*p.Password), s.opt.BcryptCost)
		if err != nil {
			return Staff{}, fmt.Errorf("auth: hash password: %w", err)
		}
		hash = string(b)
	}
	return s.store.UpdateStaff(ctx, by.Actor(), st, hash)
}

// ListStaff lists the accounts of a community.
func (s *Service) ListStaff(ctx context.Context, communityID int64) ([]Staff, error) {
	return s.store.ListStaff(ctx, communityID)
}

// GetStaff returns one account of a community. Errors: NotFound.
func (s *Service) GetStaff(ctx context.Context, communityID, id int64) (Staff, error) {
	return s.store.GetStaff(ctx, communityID, id)
}

func dedupe[T comparable](in []T) []T {
	var out []T
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
