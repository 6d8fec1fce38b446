package httpapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/auth"
)

// deviceView is what admins see of a kitchen device: never its token.
type deviceView struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	CanteenID    int64         `json:"canteen_id"`
	RegisteredBy auth.StaffRef `json:"registered_by"`
	CreatedAt    time.Time     `json:"created_at"`
	LastSeenAt   *time.Time    `json:"last_seen_at"`
	ExpiresAt    time.Time     `json:"expires_at"`
	RevokedAt    *time.Time    `json:"revoked_at"`
}

func viewDevice(d auth.Device) deviceView {
	return deviceView{ID: d.ID, Name: d.Name, CanteenID: d.CanteenID, RegisteredBy: d.RegisteredBy,
		CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt, ExpiresAt: d.ExpiresAt, RevokedAt: d.RevokedAt}
}

// registerDevice is POST /kitchen/devices: kitchen or admin staff register the screen they
// are logged in on to a canteen they may act on; the answer holds the device's token,
// shown this once.
func (s *server) registerDevice(c *fiber.Ctx) error {
	return withBody(c, http.StatusCreated, func(in auth.DeviceInput) (auth.DeviceSession, error) {
		return s.Auth.RegisterDevice(c.UserContext(), me(c), in)
	})
}

// listDevices is GET /admin/devices: the community's devices, newest first.
func (s *server) listDevices(c *fiber.Ctx) error {
	all, err := s.Auth.ListDevices(c.UserContext(), me(c).CommunityID)
	if err != nil {
		return err
	}
	out := make([]deviceView, len(all))
	for i, d := range all {
		out[i] = viewDevice(d)
	}
	return c.JSON(fiber.Map{"devices": out})
}

// revokeDevice is POST /admin/devices/:id/revoke: the device's token stops working at
// once and its open streams end; revoking it again answers the same device.
func (s *server) revokeDevice(c *fiber.Ctx) error {
	return withPath(c, idParam, func(id int64) (deviceView, error) {
		d, err := s.Auth.RevokeDevice(c.UserContext(), me(c), id)
		return viewDevice(d), err
	})
}
