package kitchen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// A PrinterStatus is what the last print on a printer said of it.
type PrinterStatus string

// The printer statuses.
const (
	PrinterUnknown PrinterStatus = "unknown" // nothing printed since it was added or its address changed
	PrinterOK      PrinterStatus = "ok"      // the last print went through
	PrinterDown    PrinterStatus = "down"    // the last print failed; the print task retries
)

// DefaultPrinterPort is the raw-printing TCP port of network ticket printers (JetDirect,
// 9100); an address given without a port gets it.
const DefaultPrinterPort = 9100

// What the audit log calls printers and their changes.
const (
	EntityPrinter = "printer"
	ActionCreate  = "create"
	ActionUpdate  = "update"
)

// Limits of printer fields, in characters.
const (
	maxPrinterName  = 40
	maxPrinterError = 300
)

// A Printer is a network ticket printer (打印机) of a canteen's kitchen, spoken to in
// ESC/POS over TCP. A station printer prints only its station's lines of each ticket;
// a printer without a station prints whole tickets.
type Printer struct {
	ID           int64         `json:"id"`
	CommunityID  int64         `json:"community_id"`
	CanteenID    int64         `json:"canteen_id"`
	StationID    int64         `json:"station_id"` // 0: prints whole tickets
	Name         string        `json:"name"`
	Address      string        `json:"address"` // host:port
	Enabled      bool          `json:"enabled"`
	Status       PrinterStatus `json:"status"`
	LastError    string        `json:"last_error"`
	LastOKAt     *time.Time    `json:"last_ok_at"`
	LastFailedAt *time.Time    `json:"last_failed_at"`
	// Unprinted counts today's (Asia/Shanghai) tickets with a print on this printer still
	// to go through. It is read, never stored.
	Unprinted int       `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PrinterInput is a new printer as an admin adds it; it is enabled unless Enabled is false.
type PrinterInput struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	StationID int64  `json:"station_id"` // 0 or null: prints whole tickets
	Enabled   *bool  `json:"enabled"`
}

// PrinterPatch changes the fields that are not nil. StationID 0 makes a whole-ticket
// printer. A new address makes the status unknown until the next print.
type PrinterPatch struct {
	Name      *string
	Address   *string
	StationID *int64
	Enabled   *bool
}

// Errors of printers; match them with errors.Is.
var (
	ErrPrinterNotFound       = apperr.New(apperr.NotFound, "printer_not_found", "打印机不存在 / no such printer")
	ErrPrinterNameTaken      = apperr.New(apperr.Conflict, "printer_name_taken", "本食堂已有同名打印机 / a printer with this name exists in this canteen")
	ErrPrinterStationInvalid = apperr.New(apperr.Invalid, "printer_station_invalid", "本食堂没有该档口 / no such station in this canteen")
	ErrPrinterBusy           = apperr.New(apperr.Transient, "printer_busy", "出餐单正在另一处打印 / the ticket is being printed elsewhere")
	ErrPrinterUnavailable    = apperr.New(apperr.Transient, "printer_unavailable", "打印失败，稍后重试 / printing failed; it will be retried")
)

var addressReason = "应为 主机:端口，端口 1–65535，如 192.168.1.50:9100 / must be host:port with a port from 1 to 65535, like 192.168.1.50:9100"

// ParsePrinterAddress returns a printer address as host:port: an IP address or host name,
// and a port from 1 to 65535 (DefaultPrinterPort when left out). Invalid, naming "address".
func ParsePrinterAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	host, port, err := net.SplitHostPort(s)
	if err != nil && !strings.Contains(strings.Trim(s, "[]"), ":") {
		host, port, err = strings.Trim(s, "[]"), strconv.Itoa(DefaultPrinterPort), nil
	}
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port || !validHost(host) {
		return "", &apperr.Error{Kind: apperr.Invalid, Code: "validation_failed",
			Detail: "打印机地址无效 / invalid printer address: address",
			Fields: []apperr.FieldError{{Field: "address", Reason: addressReason}}}
	}
	return net.JoinHostPort(host, port), nil
}

// validHost reports whether h is an IP address or a DNS host name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func checkPrinterName(f *apperr.Fields, name string) {
	n := utf8.RuneCountInString(name)
	f.Check(n >= 1 && n <= maxPrinterName, "name",
		fmt.Sprintf("应为 1 到 %d 个字 / must be 1 to %d characters", maxPrinterName, maxPrinterName))
}

// printer validates in and returns the printer it describes.
func (in PrinterInput) printer(communityID, canteenID int64) (Printer, error) {
	var f apperr.Fields
	p := Printer{CommunityID: communityID, CanteenID: canteenID, Name: strings.TrimSpace(in.Name),
		StationID: in.StationID, Enabled: in.Enabled == nil || *in.Enabled, Status: PrinterUnknown}
	checkPrinterName(&f, p.Name)
	addr, err := ParsePrinterAddress(in.Address)
	if err != nil {
		f.Add("address", addressReason)
	}
	p.Address = addr
	f.Check(in.StationID >= 0, "station_id", "必须是档口编号，不填表示整单打印 / must be a station id; leave out to print whole tickets")
	return p, f.Err()
}

// apply validates pt and changes p accordingly.
func (pt PrinterPatch) apply(p *Printer) error {
	var f apperr.Fields
	if pt.Name != nil {
		checkPrinterName(&f, strings.TrimSpace(*pt.Name))
	}
	var addr string
	if pt.Address != nil {
		var err error
		if addr, err = ParsePrinterAddress(*pt.Address); err != nil {
			f.Add("address", addressReason)
		}
	}
	if pt.StationID != nil {
		f.Check(*pt.StationID >= 0, "station_id", "必须是档口编号，0 表示整单打印 / must be a station id, or 0 to print whole tickets")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if pt.Name != nil {
		p.Name = strings.TrimSpace(*pt.Name)
	}
	if pt.Address != nil && addr != p.Address {
		p.Address, p.Status = addr, PrinterUnknown
	}
	if pt.StationID != nil {
		p.StationID = *pt.StationID
	}
	if pt.Enabled != nil {
		p.Enabled = *pt.Enabled
	}
	return nil
}

// A Printout is what one printer prints of one ticket: the card with only the lines of
// the printer's station (every line on a whole-ticket printer) and the names to print.
type Printout struct {
	Card
	Canteen      string           // the canteen's name
	Station      string           // the printer's station; "" on a whole-ticket printer
	StationNames map[int64]string // the names of the lines' stations
	Reprint      int              // 0: the first print; n: the nth reprint (重打 #n)
}

// TopicPrint is the outbox topic that asks the task worker to print a ticket's print
// generation; its payload is a PrintEvent. The store writes it in the transaction that
// creates the ticket (generation 0) or counts its reprint (generation n), when some
// printer has lines of it to print.
const TopicPrint = "ticket.print"

// PrintEvent is the payload of a TopicPrint outbox row.
type PrintEvent struct {
	TicketID   int64 `json:"ticket_id"`
	Generation int   `json:"generation"`
	CanteenID  int64 `json:"canteen_id"`
}

// A PrintJob is one print of a ticket on one printer, as the print task claims it.
type PrintJob struct {
	ID           int64
	Generation   int // 0: the first print; n: the nth reprint
	Printer      Printer
	Card         Card
	Canteen      string
	StationNames map[int64]string // every station of the canteen
}

// Printout returns what the job's printer prints: a station printer only its station's lines.
func (j PrintJob) Printout() Printout {
	c := j.Card
	if st := j.Printer.StationID; st != 0 {
		c.Lines = nil
		for _, l := range j.Card.Lines {
			if l.StationID == st {
				c.Lines = append(c.Lines, l)
			}
		}
		c.Stations = []int64{st}
	}
	return Printout{Card: c, Canteen: j.Canteen, Station: j.StationNames[j.Printer.StationID],
		StationNames: j.StationNames, Reprint: j.Generation}
}

// PrinterStore keeps printers and print jobs (kitchendb.Store). Print jobs are written
// with the ticket and with each reprint, for every enabled printer with lines to print.
type PrinterStore interface {
	// Printers lists a canteen's printers by id, with Unprinted counted over tickets of day.
	Printers(ctx context.Context, communityID, canteenID int64, day civil.Date) ([]Printer, error)
	// Printer returns one printer, with Unprinted counted over tickets of day. NotFound.
	Printer(ctx context.Context, communityID, id int64, day civil.Date) (Printer, error)
	// CreatePrinter adds p with its audit record. NotFound (the canteen), Invalid
	// (ErrPrinterStationInvalid), Conflict (ErrPrinterNameTaken).
	CreatePrinter(ctx context.Context, sc Scope, p Printer) (Printer, error)
	// UpdatePrinter locks a printer, applies the change and saves it with its audit
	// record; Unprinted is not counted. NotFound, Invalid, Conflict as CreatePrinter.
	UpdatePrinter(ctx context.Context, sc Scope, id int64, apply func(*Printer) error) (Printer, error)
	// ClaimPrintJobs claims, for a minute, the jobs of a ticket's print generation not yet
	// printed, on enabled printers; busy counts those another run holds.
	ClaimPrintJobs(ctx context.Context, communityID, ticketID int64, generation int) (jobs []PrintJob, busy int, err error)
	// RecordPrint ends a claim: printed when failure is "", else the failure is kept. The
	// printer's status follows; the kitchen screens are told when it changes.
	RecordPrint(ctx context.Context, job PrintJob, failure string) error
	// StalledPrints lists up to limit print generations, of every community, oldest first,
	// with a job on an enabled printer written within the last `within`, not printed, not
	// claimed, and not tried for `idle` (durations on the database's clock).
	StalledPrints(ctx context.Context, within, idle time.Duration, limit int) ([]PrintRef, error)
}

// A PrintRef names one print generation of a ticket.
type PrintRef struct {
	CommunityID int64
	TicketID    int64
	Generation  int
}

// A PrintDevice sends a printout to the network printer at address (host:port). Its
// errors are Transient when trying again may help.
type PrintDevice interface {
	Print(ctx context.Context, address string, p Printout) error
}

// Printers manages the kitchen's network printers and prints tickets on them.
type Printers struct {
	store  PrinterStore
	device PrintDevice
	now    func() time.Time
}

// NewPrinters returns Printers over store, printing through device. now is the clock
// (time.Now when nil).
func NewPrinters(store PrinterStore, device PrintDevice, now func() time.Time) *Printers {
	if now == nil {
		now = time.Now
	}
	return &Printers{store: store, device: device, now: now}
}

// List returns a canteen's printers with their status and how many of today's tickets
// each has still to print.
func (s *Printers) List(ctx context.Context, communityID, canteenID int64) ([]Printer, error) {
	ps, err := s.store.Printers(ctx, communityID, canteenID, civil.Today(s.now()))
	if err != nil {
		return nil, fmt.Errorf("kitchen: printers of canteen %d: %w", canteenID, err)
	}
	return ps, nil
}

// Get returns one printer of the community. NotFound (ErrPrinterNotFound).
func (s *Printers) Get(ctx context.Context, communityID, id int64) (Printer, error) {
	p, err := s.store.Printer(ctx, communityID, id, civil.Today(s.now()))
	if err != nil {
		return Printer{}, fmt.Errorf("kitchen: printer %d: %w", id, err)
	}
	return p, nil
}

// Create adds a printer to a canteen of the scope's community; it prints the tickets
// created from then on. Invalid (name, address, station_id), NotFound (the canteen),
// Conflict (ErrPrinterNameTaken).
func (s *Printers) Create(ctx context.Context, sc Scope, canteenID int64, in PrinterInput) (Printer, error) {
	p, err := in.printer(sc.CommunityID, canteenID)
	if err != nil {
		return Printer{}, err
	}
	if p, err = s.store.CreatePrinter(ctx, sc, p); err != nil {
		return Printer{}, fmt.Errorf("kitchen: create printer: %w", err)
	}
	return p, nil
}

// Update changes a printer of the scope's community. Invalid, NotFound, Conflict as Create.
func (s *Printers) Update(ctx context.Context, sc Scope, id int64, pt PrinterPatch) (Printer, error) {
	if _, err := s.store.UpdatePrinter(ctx, sc, id, pt.apply); err != nil {
		return Printer{}, fmt.Errorf("kitchen: update printer %d: %w", id, err)
	}
	return s.Get(ctx, sc.CommunityID, id)
}

// Print sends print generation gen of a ticket (0 its first print, n its nth reprint) to
// each enabled printer that has not printed it yet, and records each outcome. A canteen
// without printers prints nothing. Called by the print task, which retries on the
// Transient ErrPrinterUnavailable (some printer failed) and ErrPrinterBusy (another run
// holds a job); a job that went through is never sent again.
func (s *Printers) Print(ctx context.Context, communityID, ticketID int64, gen int) error {
	jobs, busy, err := s.store.ClaimPrintJobs(ctx, communityID, ticketID, gen)
	if err != nil {
		return fmt.Errorf("kitchen: print ticket %d: %w", ticketID, err)
	}
	var failed []error
	for _, j := range jobs {
		perr := s.device.Print(ctx, j.Printer.Address, j.Printout())
		// The outcome is recorded even when ctx ends: a print that went through must
		// not be sent again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := s.store.RecordPrint(rctx, j, failureText(perr))
		cancel()
		if perr != nil {
			failed = append(failed, fmt.Errorf("printer %d (%s): %w", j.Printer.ID, j.Printer.Name, perr))
		}
		if err != nil {
			return fmt.Errorf("kitchen: print ticket %d: %w", ticketID, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("kitchen: print ticket %d: %w", ticketID,
			apperr.Wrap(errors.Join(failed...), apperr.Transient, ErrPrinterUnavailable.Code, ErrPrinterUnavailable.Detail))
	}
	if busy > 0 {
		return fmt.Errorf("kitchen: print ticket %d: %w", ticketID, ErrPrinterBusy)
	}
	return nil
}

// Re-drive bounds: print jobs written within the last half hour (later the meal is served
// and the screens show what was missed) that no run has tried for three minutes, while
// the print task retries at least every minute.
const (
	redriveWithin = 30 * time.Minute
	redriveIdle   = 3 * time.Minute
	redriveBatch  = 100
)

// Redrive prints the print generations whose task was lost (a flushed Redis, a task
// archived too early) and returns how many it tried. A printer that fails is recorded as
// by Print and does not fail the re-drive; other errors are joined. Called by the task
// worker every minute.
func (s *Printers) Redrive(ctx context.Context) (int, error) {
	refs, err := s.store.StalledPrints(ctx, redriveWithin, redriveIdle, redriveBatch)
	if err != nil {
		return 0, fmt.Errorf("kitchen: stalled prints: %w", err)
	}
	var errs []error
	for _, r := range refs {
		err := s.Print(ctx, r.CommunityID, r.TicketID, r.Generation)
		if err != nil && !errors.Is(err, ErrPrinterUnavailable) && !errors.Is(err, ErrPrinterBusy) {
			errs = append(errs, err)
		}
	}
	return len(refs), errors.Join(errs...)
}

// failureText is what a printer's last_error keeps of a print error: its detail and
// cause, at most maxPrinterError characters; "" for nil.
func failureText(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if ae, ok := apperr.As(err); ok {
		msg = ae.Detail
		if ae.Err != nil {
			msg += ": " + ae.Err.Error()
		}
	}
	if msg == "" {
		msg = "print failed"
	}
	if r := []rune(msg); len(r) > maxPrinterError {
		msg = string(r[:maxPrinterError])
	}
	return msg
}
