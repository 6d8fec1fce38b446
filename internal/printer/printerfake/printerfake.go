// Package printerfake is a network ticket printer for tests and `canteen dev`: a TCP
// listener on loopback that records what each connection sent, like a printer on port
// 9100 that prints it. It can also take connections and drop them unread, or refuse
// them, as a printer out of order does.
package printerfake

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/canteen-oss/canteen/internal/kitchen/escpos"
)

// A Mode is how the fake printer treats connections.
type Mode int

// The modes.
const (
	Print  Mode = iota // read each connection to its end and keep what it sent
	Drop               // take each connection and reset it unread
	Refuse             // listen no more: connecting is refused
)

// Printer is a fake network printer.
type Printer struct {
	addr   string
	onJob  func(data []byte)
	mu     sync.Mutex
	ln     net.Listener
	mode   Mode
	jobs   [][]byte
	closed bool
	wg     sync.WaitGroup
}

// Start listens on addr ("127.0.0.1:0" picks a free port) in mode Print. onJob, when
// not nil, is called with the bytes of each job printed.
func Start(addr string, onJob func(data []byte)) (*Printer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("printerfake: listen on %s: %w", addr, err)
	}
	p := &Printer{addr: ln.Addr().String(), onJob: onJob}
	p.serve(ln)
	return p, nil
}

// Addr is the printer's host:port.
func (p *Printer) Addr() string { return p.addr }

func (p *Printer) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.handle(conn) })
		}
	})
}

func (p *Printer) handle(conn net.Conn) {
	defer conn.Close()
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if mode != Print {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with a reset, as a printer that gave up
		}
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, err := io.ReadAll(conn)
	if err != nil || len(data) == 0 {
		return
	}
	p.mu.Lock()
	p.jobs = append(p.jobs, data)
	p.mu.Unlock()
	if p.onJob != nil {
		p.onJob(data)
	}
}

// SetMode changes how the printer treats new connections. Refuse closes the listener;
// leaving Refuse listens again on the same address.
func (p *Printer) SetMode(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || m == p.mode {
		p.mode = m
		return nil
	}
	switch {
	case m == Refuse:
		_ = p.ln.Close()
	case p.mode == Refuse:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("printerfake: listen again on %s: %w", p.addr, err)
		}
		p.serve(ln)
	}
	p.mode = m
	return nil
}

// Jobs returns the bytes of every job printed so far, oldest first.
func (p *Printer) Jobs() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.jobs...)
}

// Texts returns the printed text of every job so far (escpos.Text), oldest first.
func (p *Printer) Texts() []string {
	var out []string
	for _, j := range p.Jobs() {
		out = append(out, escpos.Text(j))
	}
	return out
}

// Close stops listening and waits for open connections to end.
func (p *Printer) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		_ = p.ln.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
