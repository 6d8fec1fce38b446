package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/kitchen"
)

// printerView is a network printer as kitchen screens and admins see it. Its shape is what
// the kitchen screen's printer indicator reads, in the list and in "printer" stream events.
type printerView struct {
	ID           int64      `json:"id"`
	CanteenID    int64      `json:"canteen_id"`
	StationID    *int64     `json:"station_id"` // null: prints whole tickets
	Name         string     `json:"name"`
	Address      string     `json:"address"`
	Enabled      bool       `json:"enabled"`
	Status       string     `json:"status"` // ok, down or unknown
	LastError    string     `json:"last_error"`
	LastOKAt     *time.Time `json:"last_ok_at"`
	LastFailedAt *time.Time `json:"last_failed_at"`
	Unprinted    int        `json:"unprinted"` // today's tickets not yet printed on it
}

func viewPrinter(p kitchen.Printer) printerView {
	v := printerView{ID: p.ID, CanteenID: p.CanteenID, Name: p.Name, Address: p.Address, Enabled: p.Enabled,
		Status: string(p.Status), LastError: p.LastError, LastOKAt: p.LastOKAt, LastFailedAt: p.LastFailedAt,
		Unprinted: p.Unprinted}
	if p.StationID != 0 {
		id := p.StationID
		v.StationID = &id
	}
	return v
}

// listPrinters is GET /kitchen/canteens/:id/printers: {"printers": [...]}, by id.
func (s *server) listPrinters(c *fiber.Ctx) error {
	return withPath(c, canteenParam, func(id int64) (fiber.Map, error) {
		ps, err := s.Printers.List(c.UserContext(), me(c).CommunityID, id)
		out := make([]printerView, len(ps))
		for i, p := range ps {
			out[i] = viewPrinter(p)
		}
		return fiber.Map{"printers": out}, err
	})
}

// createPrinter is POST /admin/canteens/:id/printers.
func (s *server) createPrinter(c *fiber.Ctx) error {
	return withPathBody(c, canteenParam, http.StatusCreated, func(id int64, in kitchen.PrinterInput) (printerView, error) {
		p, err := s.Printers.Create(c.UserContext(), kitchenScope(c), id, in)
		return viewPrinter(p), err
	})
}

// printerPatchBody is a PATCH of a printer: absent fields stay; station_id null or 0
// makes a whole-ticket printer.
type printerPatchBody struct {
	Name      *string        `json:"name"`
	Address   *string        `json:"address"`
	StationID stationIDField `json:"station_id"`
	Enabled   *bool          `json:"enabled"`
}

// updatePrinter is PATCH /admin/printers/:id, within the caller's canteens.
func (s *server) updatePrinter(c *fiber.Ctx) error {
	return withPathBody(c, s.printerParam, http.StatusOK, func(id int64, in printerPatchBody) (printerView, error) {
		pt := kitchen.PrinterPatch{Name: in.Name, Address: in.Address, Enabled: in.Enabled}
		if in.StationID.Set {
			pt.StationID = &in.StationID.ID
		}
		p, err := s.Printers.Update(c.UserContext(), kitchenScope(c), id, pt)
		return viewPrinter(p), err
	})
}

// printerParam reads the :id printer of the caller's community and checks their canteen
// scope.
func (s *server) printerParam(c *fiber.Ctx) (int64, error) {
	id, err := idParam(c)
	if err != nil {
		return 0, err
	}
	p, err := s.Printers.Get(c.UserContext(), me(c).CommunityID, id)
	if err != nil {
		return 0, err
	}
	return id, canteenScope(c, p.CanteenID)
}

// printerJSON returns, for a kitchen stream of communityID, what a "printer" event says of
// a printer: its printerView as JSON, or nil when it cannot be read. It runs after the
// handler has returned and does not touch the request.
func (s *server) printerJSON(communityID int64) func(printerID int64) []byte {
	printers, log := s.Printers, s.Log
	return func(id int64) []byte {
		if printers == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := printers.Get(ctx, communityID, id)
		if err != nil {
			log.Warn("printer event not sent", "printer_id", id, "err", err.Error())
			return nil
		}
		b, err := json.Marshal(viewPrinter(p))
		if err != nil {
			return nil
		}
		return b
	}
}

// stationIDField is the station_id of a PATCH: left out (Set false), null or 0 (Set, ID 0),
// or a station id.
type stationIDField struct {
	Set bool
	ID  int64
}

// UnmarshalJSON reads null or an integer.
func (o *stationIDField) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.ID = 0
		return nil
	}
	id, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || id < 0 {
		return &apperr.Error{Kind: apperr.Invalid, Code: "wrong_type",
			Detail: "字段类型错误 / field station_id must be a station id, 0 or null",
			Fields: []apperr.FieldError{{Field: "station_id", Reason: "must be a station id, 0 or null"}}}
	}
	o.ID = id
	return nil
}
