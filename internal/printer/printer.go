// Package printer sends kitchen tickets to network receipt printers: ESC/POS bytes
// (internal/kitchen/escpos) written over one raw TCP connection per print, as printers
// take on port 9100. Every failure is Transient, so the print task retries it.
package printer

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/kitchen"
	"github.com/canteen-oss/canteen/internal/kitchen/escpos"
)

// Options tune a TCP printer client; zero fields take the defaults.
type Options struct {
	DialTimeout  time.Duration // to connect; 3 s
	WriteTimeout time.Duration // to hand the printout over; 5 s
	// DrainTimeout is how long to wait, after sending and closing our side, for the
	// printer to close its side or reset the connection; 1 s. A printer that resets it
	// (it took the connection but not the data) fails the print.
	DrainTimeout time.Duration
	Width        int // characters per line, escpos.Options.Width
}

// TCP prints on network printers. It implements kitchen.PrintDevice.
type TCP struct{ opt Options }

var _ kitchen.PrintDevice = (*TCP)(nil)

// New returns a TCP printer client.
func New(opt Options) *TCP {
	if opt.DialTimeout <= 0 {
		opt.DialTimeout = 3 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = time.Second
	}
	return &TCP{opt: opt}
}

// Errors of printing, of kind Transient; match them with errors.Is.
var (
	ErrUnreachable = apperr.New(apperr.Transient, "printer_unreachable", "连不上打印机 / cannot connect to the printer")
	ErrSendFailed  = apperr.New(apperr.Transient, "printer_send_failed", "打印机没有收下出餐单 / the printer did not take the ticket")
)

// Print renders p as ESC/POS and sends it to the printer at address (host:port).
// Errors: ErrUnreachable, ErrSendFailed (both Transient).
func (c *TCP) Print(ctx context.Context, address string, p kitchen.Printout) error {
	return c.Send(ctx, address, escpos.Ticket(p, escpos.Options{Width: c.opt.Width}))
}

// Send writes data to the printer at address over a new connection: it dials within
// DialTimeout, writes within WriteTimeout, closes its side and waits up to DrainTimeout
// for the printer to close. Errors: ErrUnreachable, ErrSendFailed (both Transient).
func (c *TCP) Send(ctx context.Context, address string, data []byte) error {
	d := net.Dialer{Timeout: c.opt.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return apperr.Wrap(err, apperr.Transient, ErrUnreachable.Code, ErrUnreachable.Detail)
	}
	defer conn.Close()
	// When ctx ends, close the connection: that unblocks a write or read at once and, unlike
	// a deadline, cannot be undone by the deadlines set below.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	sendErr := func(err error) error {
		return apperr.Wrap(err, apperr.Transient, ErrSendFailed.Code, ErrSendFailed.Detail)
	}
	if err := conn.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout)); err != nil {
		return sendErr(err)
	}
	if _, err := conn.Write(data); err != nil {
		return sendErr(err)
	}
	// A raw port does not acknowledge. Closing our side tells the printer the job is
	// complete; a printer that took the connection without reading answers with a reset.
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return sendErr(err)
		}
	}
	if err := conn.SetReadDeadline(time.Now().Add(c.opt.DrainTimeout)); err != nil {
		return sendErr(err)
	}
	_, err = io.Copy(io.Discard, conn) // status bytes some printers send, then EOF
	var ne net.Error
	switch {
	case err == nil: // the printer closed its side
	case errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil: // still open: it has the data
	default:
		return sendErr(err)
	}
	return nil
}
