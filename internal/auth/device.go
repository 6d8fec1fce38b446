package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/audit"
)

// A kitchen device is a tablet or TV that stays logged in to one canteen's ticket screen
// for months. Kitchen or admin staff register it; its session is of kind device and
// acts with the kitchen role on that canteen only; an admin may revoke it at any time.
// A device outlives the account that registered it: disabling that account leaves the
// device working until it is revoked or expires.

// DefaultDeviceTTL is how long a device session lasts when Options.DeviceTTL is zero.
const DefaultDeviceTTL = 180 * 24 * time.Hour

// DeviceSeenEvery is how stale a device's last_seen_at may get: authenticating a device
// writes it at most once per this interval, not on every request.
const DeviceSeenEvery = time.Minute

// DeviceActor is the audit actor kind of a device.
const DeviceActor audit.ActorKind = "device"

// StaffRef names a staff member as they were when they acted.
type StaffRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Device is a registered kitchen screen. A device that is revoked or past ExpiresAt has
// no session.
type Device struct {
	ID           int64      `json:"id"`
	CommunityID  int64      `json:"community_id"`
	CanteenID    int64      `json:"canteen_id"`
	Name         string     `json:"name"`
	RegisteredBy StaffRef   `json:"registered_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	LastSeenAt   *time.Time `json:"last_seen_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	RevokedBy    *int64     `json:"revoked_by"` // staff id; nil on a revoked device: it logged itself out
}

// Principal returns the principal of a device's session: the kitchen role, confined to
// the device's canteen.
func (d Device) Principal() Principal {
	return Principal{Kind: DeviceKind, ID: d.ID, CommunityID: d.CommunityID, Name: d.Name,
		Roles: []Role{Kitchen}, CanteenIDs: []int64{d.CanteenID}, CanteenID: d.CanteenID}
}

// DeviceInput registers a device to a canteen.
type DeviceInput struct {
	Name      string `json:"name"`
	CanteenID int64  `json:"canteen_id"`
}

// DeviceSession is a newly registered device and its token, which is shown once.
type DeviceSession struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CanteenID int64     `json:"canteen_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DeviceStore keeps devices and their sessions; Store includes it. Changes write their
// audit record in the same transaction.
type DeviceStore interface {
	// CreateDevice stores d with a session of tokenHash that expires with it. Invalid
	// (ErrDeviceCanteen: no such canteen in d's community).
	CreateDevice(ctx context.Context, actor audit.Actor, d Device, tokenHash []byte) (Device, error)
	// ListDevices lists a community's devices, newest first.
	ListDevices(ctx context.Context, communityID int64) ([]Device, error)
	// RevokeDevice revokes a device and its session at now, by actor (staff); a device
	// already revoked is returned unchanged. NotFound (ErrDeviceNotFound).
	RevokeDevice(ctx context.Context, actor audit.Actor, communityID, id int64, now time.Time) (Device, error)
}

// Device errors.
var (
	ErrDeviceNotFound  = apperr.New(apperr.NotFound, "device_not_found", "设备不存在 / no such device")
	ErrDeviceForbidden = apperr.New(apperr.Forbidden, "device_forbidden",
		"只有能管理该食堂后厨的工作人员才能登记设备 / only kitchen or admin staff of this canteen may register a device")
	ErrDeviceCanteen = &apperr.Error{Kind: apperr.Invalid, Code: "canteen_not_found",
		Detail: "食堂不存在 / no such canteen in this community",
		Fields: []apperr.FieldError{{Field: "canteen_id", Reason: "no such canteen in this community"}}}
)

// RegisterDevice registers a kitchen screen to a canteen that by, kitchen or admin staff,
// may act on, and returns the device's token (shown once), valid for Options.DeviceTTL.
// A device cannot register devices. Errors: Invalid (name, canteen_id), Forbidden.
func (s *Service) RegisterDevice(ctx context.Context, by Principal, in DeviceInput) (DeviceSession, error) {
	name := strings.TrimSpace(in.Name)
	var f apperr.Fields
	n := utf8.RuneCountInString(name)
	f.Check(n >= 1 && n <= 40 && !strings.ContainsFunc(name, unicode.IsControl), "name", "1-40 characters, no control characters")
	f.Check(in.CanteenID > 0, "canteen_id", "required")
	if err := f.Err(); err != nil {
		return DeviceSession{}, err
	}
	if !by.HasAny(Kitchen, Admin) || !by.CanAccessCanteen(in.CanteenID) {
		return DeviceSession{}, ErrDeviceForbidden
	}
	now := s.opt.Now().UTC().Truncate(time.Second)
	token := newToken()
	d, err := s.store.CreateDevice(ctx, by.Actor(), Device{CommunityID: by.CommunityID, CanteenID: in.CanteenID, Name: name,
		RegisteredBy: StaffRef{ID: by.ID, Name: by.Name}, CreatedAt: now, ExpiresAt: now.Add(s.opt.DeviceTTL)}, HashToken(token))
	if err != nil {
		return DeviceSession{}, fmt.Errorf("auth: register device: %w", err)
	}
	return DeviceSession{ID: d.ID, Name: d.Name, CanteenID: d.CanteenID, Token: token, ExpiresAt: d.ExpiresAt}, nil
}

// ListDevices lists the devices of a community, newest first, revoked and expired ones
// included until they are purged.
func (s *Service) ListDevices(ctx context.Context, communityID int64) ([]Device, error) {
	return s.store.ListDevices(ctx, communityID)
}

// RevokeDevice ends a device of by's community at once: its next request is refused
// and its open streams close. Revoking a revoked device changes nothing. Errors: NotFound.
func (s *Service) RevokeDevice(ctx context.Context, by Principal, id int64) (Device, error) {
	return s.store.RevokeDevice(ctx, by.Actor(), by.CommunityID, id, s.opt.Now())
}
