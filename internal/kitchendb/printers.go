package kitchendb

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/auditdb"
	"github.com/canteen-oss/canteen/internal/catalog"
	"github.com/canteen-oss/canteen/internal/civil"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/postgres"
)

var _ kitchen.PrinterStore = (*Store)(nil)

type printerRow struct {
	ID           int64      `bun:"id"`
	CommunityID  int64      `bun:"community_id"`
	CanteenID    int64      `bun:"canteen_id"`
	StationID    *int64     `bun:"station_id"`
	Name         string     `bun:"name"`
	Address      string     `bun:"address"`
	Enabled      bool       `bun:"enabled"`
	Status       string     `bun:"status"`
	LastError    string     `bun:"last_error"`
	LastOKAt     *time.Time `bun:"last_ok_at"`
	LastFailedAt *time.Time `bun:"last_failed_at"`
	Unprinted    int        `bun:"unprinted"`
	CreatedAt    time.Time  `bun:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at"`
}

const printerColumns = `p.id, p.community_id, p.canteen_id, p.station_id, p.name, p.address, p.enabled, p.status,
	p.last_error, p.last_ok_at, p.last_failed_at, p.created_at, p.updated_at`

// unprintedColumn counts a printer's jobs still to print among the tickets of day ?.
const unprintedColumn = `(SELECT count(DISTINCT j.ticket_id) FROM print_jobs j JOIN tickets t ON t.id = j.ticket_id
	WHERE j.printer_id = p.id AND j.printed_at IS NULL AND t.day = ?)::int AS unprinted`

func (r printerRow) printer() kitchen.Printer {
	p := kitchen.Printer{ID: r.ID, CommunityID: r.CommunityID, CanteenID: r.CanteenID, Name: r.Name, Address: r.Address,
		Enabled: r.Enabled, Status: kitchen.PrinterStatus(r.Status), LastError: r.LastError, LastOKAt: r.LastOKAt,
		LastFailedAt: r.LastFailedAt, Unprinted: r.Unprinted, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.StationID != nil {
		p.StationID = *r.StationID
	}
	return p
}

// stationOrNull is a printer's station as stored: NULL for a whole-ticket printer.
func stationOrNull(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// Printers implements kitchen.PrinterStore.
func (s *Store) Printers(ctx context.Context, communityID, canteenID int64, day civil.Date) ([]kitchen.Printer, error) {
	var rows []printerRow
	err := s.db.NewRaw("SELECT "+printerColumns+", "+unprintedColumn+` FROM kitchen_printers p
		WHERE p.community_id = ? AND p.canteen_id = ? ORDER BY p.id`, postgres.Date(day), communityID, canteenID).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("kitchendb: printers of canteen %d: %w", canteenID, err)
	}
	out := make([]kitchen.Printer, len(rows))
	for i, r := range rows {
		out[i] = r.printer()
	}
	return out, nil
}

// Printer implements kitchen.PrinterStore.
func (s *Store) Printer(ctx context.Context, communityID, id int64, day civil.Date) (kitchen.Printer, error) {
	var r printerRow
	err := s.db.NewRaw("SELECT "+printerColumns+", "+unprintedColumn+` FROM kitchen_printers p
		WHERE p.community_id = ? AND p.id = ?`, postgres.Date(day), communityID, id).Scan(ctx, &r)
	if postgres.IsNoRows(err) {
		err = kitchen.ErrPrinterNotFound
	}
	if err != nil {
		return kitchen.Printer{}, fmt.Errorf("kitchendb: printer %d: %w", id, err)
	}
	return r.printer(), nil
}

// printerErr turns the constraint violations of a printer write into domain errors.
func printerErr(op string, err error) error {
	field := func(sentinel *apperr.Error, name, reason string) error {
		return &apperr.Error{Kind: sentinel.Kind, Code: sentinel.Code, Detail: sentinel.Detail,
			Fields: []apperr.FieldError{{Field: name, Reason: reason}}, Err: err}
	}
	switch {
	case postgres.IsUniqueViolation(err, "kitchen_printers_name_key"):
		err = field(kitchen.ErrPrinterNameTaken, "name", "本食堂已有同名打印机 / a printer with this name exists in this canteen")
	case postgres.IsForeignKeyViolation(err, "kitchen_printers_station_fkey"):
		err = field(kitchen.ErrPrinterStationInvalid, "station_id", "本食堂没有该档口 / no such station in this canteen")
	case postgres.IsForeignKeyViolation(err, "kitchen_printers_canteen_fkey"):
		err = catalog.ErrCanteenNotFound
	}
	return fmt.Errorf("kitchendb: %s: %w", op, err)
}

// CreatePrinter implements kitchen.PrinterStore: the printer, its audit record and a
// notice to the kitchen screens, in one transaction.
func (s *Store) CreatePrinter(ctx context.Context, sc kitchen.Scope, p kitchen.Printer) (kitchen.Printer, error) {
	var out printerRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw(`INSERT INTO kitchen_printers AS p (community_id, canteen_id, station_id, name, address, enabled)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+printerColumns+", 0 AS unprinted",
			sc.CommunityID, p.CanteenID, stationOrNull(p.StationID), p.Name, p.Address, p.Enabled).Scan(ctx, &out)
		if err != nil {
			return printerErr("insert printer", err)
		}
		if err := auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, kitchen.ActionCreate, kitchen.EntityPrinter,
			strconv.FormatInt(out.ID, 10), nil, out.printer()); err != nil {
			return err
		}
		return notifyPrinter(ctx, tx, out.CanteenID, out.ID)
	})
	if err != nil {
		return kitchen.Printer{}, err
	}
	return out.printer(), nil
}

// UpdatePrinter implements kitchen.PrinterStore.
func (s *Store) UpdatePrinter(ctx context.Context, sc kitchen.Scope, id int64, apply func(*kitchen.Printer) error) (kitchen.Printer, error) {
	var out kitchen.Printer
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r printerRow
		err := tx.NewRaw("SELECT "+printerColumns+`, 0 AS unprinted FROM kitchen_printers p
			WHERE p.community_id = ? AND p.id = ? FOR UPDATE`, sc.CommunityID, id).Scan(ctx, &r)
		if postgres.IsNoRows(err) {
			return kitchen.ErrPrinterNotFound
		}
		if err != nil {
			return fmt.Errorf("kitchendb: lock printer %d: %w", id, err)
		}
		before := r.printer()
		p := before
		if err := apply(&p); err != nil {
			return err
		}
		err = tx.NewRaw(`UPDATE kitchen_printers AS p SET name = ?, address = ?, station_id = ?, enabled = ?, status = ?,
				updated_at = now()
			WHERE p.id = ? RETURNING `+printerColumns+", 0 AS unprinted",
			p.Name, p.Address, stationOrNull(p.StationID), p.Enabled, string(p.Status), id).Scan(ctx, &r)
		if err != nil {
			return printerErr(fmt.Sprintf("update printer %d", id), err)
		}
		out = r.printer()
		if err := auditdb.Write(ctx, tx, sc.CommunityID, sc.Actor, kitchen.ActionUpdate, kitchen.EntityPrinter,
			strconv.FormatInt(id, 10), before, out); err != nil {
			return err
		}
		return notifyPrinter(ctx, tx, out.CanteenID, id)
	})
	if err != nil {
		return kitchen.Printer{}, err
	}
	return out, nil
}

// notifyPrinter tells the kitchen screens, on commit, that a printer of canteenID changed.
func notifyPrinter(ctx context.Context, tx bun.IDB, canteenID, printerID int64) error {
	b, err := json.Marshal(map[string]int64{"canteen_id": canteenID, "printer_id": printerID})
	if err != nil {
		return err
	}
	if _, err := tx.NewRaw("SELECT pg_notify(?, ?)", Channel, string(b)).Exec(ctx); err != nil {
		return fmt.Errorf("notify printer: %w", err)
	}
	return nil
}

// queuePrints writes, inside the transaction that creates a ticket (generation 0) or
// counts its reprint (generation n), a print job for every enabled printer of the canteen
// with lines of it to print: whole-ticket printers, and station printers of the ticket's
// stations. When there is one, it also writes the outbox row for the print task.
func queuePrints(ctx context.Context, tx bun.IDB, t ticketRow, generation int) error {
	var jobs []int64
	err := tx.NewRaw(`INSERT INTO print_jobs (community_id, ticket_id, printer_id, generation)
		SELECT p.community_id, ?, p.id, ? FROM kitchen_printers p
		WHERE p.community_id = ? AND p.canteen_id = ? AND p.enabled
		  AND (p.station_id IS NULL OR p.station_id = ANY (?::bigint[]))
		ON CONFLICT (ticket_id, printer_id, generation) DO NOTHING
		RETURNING id`, t.ID, generation, t.CommunityID, t.CanteenID, pgdialect.Array(t.Stations)).Scan(ctx, &jobs)
	if err != nil {
		return fmt.Errorf("queue prints: %w", err)
	}
	if len(jobs) == 0 {
		return nil
	}
	return postgres.WriteOutbox(ctx, tx, t.CommunityID, kitchen.TopicPrint,
		kitchen.PrintEvent{TicketID: t.ID, Generation: generation, CanteenID: t.CanteenID})
}

// A claim is a print job a run of the print task has taken.
type claim struct {
	ID        int64 `bun:"id"`
	PrinterID int64 `bun:"printer_id"`
	Busy      bool  `bun:"busy"` // another run holds it
}

// ClaimPrintJobs implements kitchen.PrinterStore. A claim lasts a minute: a run that
// died holding it does not keep the job from printing for longer.
func (s *Store) ClaimPrintJobs(ctx context.Context, communityID, ticketID int64, generation int) ([]kitchen.PrintJob, int, error) {
	var claimed []claim
	busy := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rows []claim
		err := tx.NewRaw(`SELECT j.id, j.printer_id, coalesce(j.claimed_until > now(), false) AS busy
			FROM print_jobs j JOIN kitchen_printers p ON p.id = j.printer_id
			WHERE j.community_id = ? AND j.ticket_id = ? AND j.generation = ? AND j.printed_at IS NULL AND p.enabled
			ORDER BY j.id FOR UPDATE OF j`, communityID, ticketID, generation).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("pending print jobs: %w", err)
		}
		var ids []int64
		for _, r := range rows {
			if r.Busy {
				busy++
				continue
			}
			claimed = append(claimed, r)
			ids = append(ids, r.ID)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.NewRaw(`UPDATE print_jobs SET attempts = attempts + 1, last_attempt_at = now(),
			claimed_until = now() + interval '1 minute' WHERE id IN (?)`, bun.List(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("claim print jobs: %w", err)
		}
		return nil
	})
	if err == nil && len(claimed) > 0 {
		var jobs []kitchen.PrintJob
		if jobs, err = s.printJobs(ctx, communityID, ticketID, generation, claimed); err == nil {
			return jobs, busy, nil
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("kitchendb: claim prints of ticket %d: %w", ticketID, err)
	}
	return nil, busy, nil
}

// printJobs fills claimed jobs with their printer, the ticket's card, the canteen's name
// and its station names.
func (s *Store) printJobs(ctx context.Context, communityID, ticketID int64, generation int, claimed []claim) ([]kitchen.PrintJob, error) {
	var t ticketRow
	err := s.db.NewRaw("SELECT "+ticketColumns+" FROM tickets WHERE community_id = ? AND id = ?", communityID, ticketID).Scan(ctx, &t)
	if postgres.IsNoRows(err) {
		return nil, kitchen.ErrTicketNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: %w", err)
	}
	cards, err := s.cards(ctx, []ticketRow{t})
	if err != nil {
		return nil, err
	}
	var canteen string
	if err := s.db.NewRaw("SELECT name FROM canteens WHERE community_id = ? AND id = ?", communityID, t.CanteenID).Scan(ctx, &canteen); err != nil {
		return nil, fmt.Errorf("canteen name: %w", err)
	}
	var stations []struct {
		ID   int64  `bun:"id"`
		Name string `bun:"name"`
	}
	if err := s.db.NewRaw("SELECT id, name FROM kitchen_stations WHERE community_id = ? AND canteen_id = ?",
		communityID, t.CanteenID).Scan(ctx, &stations); err != nil {
		return nil, fmt.Errorf("station names: %w", err)
	}
	names := make(map[int64]string, len(stations))
	for _, st := range stations {
		names[st.ID] = st.Name
	}
	var printers []printerRow
	if err := s.db.NewRaw("SELECT "+printerColumns+", 0 AS unprinted FROM kitchen_printers p WHERE p.community_id = ? AND p.canteen_id = ?",
		communityID, t.CanteenID).Scan(ctx, &printers); err != nil {
		return nil, fmt.Errorf("printers: %w", err)
	}
	byID := make(map[int64]kitchen.Printer, len(printers))
	for _, p := range printers {
		byID[p.ID] = p.printer()
	}
	jobs := make([]kitchen.PrintJob, len(claimed))
	for i, c := range claimed {
		jobs[i] = kitchen.PrintJob{ID: c.ID, Generation: generation, Printer: byID[c.PrinterID], Card: cards[0],
			Canteen: canteen, StationNames: names}
	}
	return jobs, nil
}

// RecordPrint implements kitchen.PrinterStore.
func (s *Store) RecordPrint(ctx context.Context, job kitchen.PrintJob, failure string) error {
	status := kitchen.PrinterOK
	if failure != "" {
		status = kitchen.PrinterDown
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw(`UPDATE print_jobs SET claimed_until = NULL, last_error = ?,
			printed_at = CASE WHEN ? THEN now() END WHERE id = ?`, failure, failure == "", job.ID).Exec(ctx); err != nil {
			return fmt.Errorf("record print job %d: %w", job.ID, err)
		}
		var was struct {
			Status    string `bun:"status"`
			CanteenID int64  `bun:"canteen_id"`
		}
		err := tx.NewRaw(`WITH was AS (SELECT id, status FROM kitchen_printers WHERE id = ? FOR UPDATE)
			UPDATE kitchen_printers p SET status = ?,
				last_ok_at = CASE WHEN ? THEN now() ELSE p.last_ok_at END,
				last_failed_at = CASE WHEN ? THEN p.last_failed_at ELSE now() END,
				last_error = CASE WHEN ? THEN p.last_error ELSE ? END
			FROM was WHERE p.id = was.id
			RETURNING was.status, p.canteen_id`, job.Printer.ID, string(status), failure == "", failure == "", failure == "", failure).Scan(ctx, &was)
		if err != nil {
			return fmt.Errorf("record status of printer %d: %w", job.Printer.ID, err)
		}
		if kitchen.PrinterStatus(was.Status) == status {
			return nil
		}
		return notifyPrinter(ctx, tx, was.CanteenID, job.Printer.ID)
	})
	if err != nil {
		return fmt.Errorf("kitchendb: %w", err)
	}
	return nil
}

// StalledPrints implements kitchen.PrinterStore.
func (s *Store) StalledPrints(ctx context.Context, within, idle time.Duration, limit int) ([]kitchen.PrintRef, error) {
	var rows []struct {
		CommunityID int64 `bun:"community_id"`
		TicketID    int64 `bun:"ticket_id"`
		Generation  int   `bun:"generation"`
	}
	err := s.db.NewRaw(`SELECT j.community_id, j.ticket_id, j.generation
		FROM print_jobs j JOIN kitchen_printers p ON p.id = j.printer_id
		WHERE j.printed_at IS NULL AND p.enabled
		  AND j.created_at > now() - ? * interval '1 second'
		  AND coalesce(j.last_attempt_at, j.created_at) < now() - ? * interval '1 second'
		  AND (j.claimed_until IS NULL OR j.claimed_until < now())
		GROUP BY j.community_id, j.ticket_id, j.generation
		ORDER BY min(j.id) LIMIT ?`, within.Seconds(), idle.Seconds(), limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("kitchendb: stalled prints: %w", err)
	}
	out := make([]kitchen.PrintRef, len(rows))
	for i, r := range rows {
		out[i] = kitchen.PrintRef{CommunityID: r.CommunityID, TicketID: r.TicketID, Generation: r.Generation}
	}
	return out, nil
}
