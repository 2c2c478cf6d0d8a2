package rtr

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// writeChunk is how much of a response one write (with its own deadline) carries.
const writeChunk = 256 << 10

// drainTime is how long a connection is read and discarded after a fatal Error Report,
// so that the report is not lost to a TCP reset caused by unread input.
const drainTime = 2 * time.Second

// conn is one router connection: a reader goroutine that parses PDUs and a writer
// goroutine that answers them and sends notifies, so that a slow router never holds up
// anything but itself.
type conn struct {
	s      *Server
	nc     net.Conn
	log    *slog.Logger
	reqs   chan request
	notify chan struct{}
	wdone  chan struct{} // closed when the writer returns

	// Writer state.
	ready   bool // answered a query: Serial Notify applies
	version Version
	serial  uint32 // the serial the router holds, when ready
}

type reqKind uint8

const (
	reqReset reqKind = iota
	reqSerial
	reqError // send an Error Report
)

type request struct {
	kind    reqKind
	version Version
	session uint16
	serial  uint32
	code    ErrorCode // reqError
	pdu     []byte    // reqError: the offending PDU
	text    string    // reqError
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		s:      s,
		nc:     nc,
		log:    s.log.With("remote", nc.RemoteAddr().String()),
		reqs:   make(chan request, 1),
		notify: make(chan struct{}, 1),
		wdone:  make(chan struct{}),
	}
}

func (c *conn) serve() {
	c.log.Debug("rtr connection opened")
	go c.writeLoop()
	c.readLoop()
	close(c.reqs)
	<-c.wdone
	c.nc.Close()
	c.log.Debug("rtr connection closed")
	c.s.remove(c)
}

// Close closes the connection's socket; its reader and writer see the error and return.
func (c *conn) Close() error { return c.nc.Close() }

// send hands r to the writer; false if the writer has gone.
func (c *conn) send(r request) bool {
	select {
	case c.reqs <- r:
		return true
	case <-c.wdone:
		return false
	}
}

// fail sends a fatal Error Report and drains the input until the router closes.
func (c *conn) fail(v Version, code ErrorCode, pdu []byte, text string) {
	if code == UnsupportedVersion && len(pdu) > 0 && Version(pdu[0]) > c.s.opts.MaxVersion {
		// Routers that speak a newer version start with it (RFC 8210 §7): not a fault.
		c.log.Info("rtr router asked for a newer protocol version", "version", pdu[0], "max_version", c.s.opts.MaxVersion)
	} else {
		c.log.Warn("rtr router sent a bad PDU", "code", code.String(), "err", text)
	}
	if c.send(request{kind: reqError, version: v, code: code, pdu: pdu, text: text}) {
		c.nc.SetReadDeadline(time.Now().Add(drainTime))
		io.Copy(io.Discard, c.nc)
	}
}

// readLoop reads the router's PDUs until it closes, errs or must be dropped.
func (c *conn) readLoop() {
	br := bufio.NewReaderSize(c.nc, 256)
	var hdr [headerLen]byte
	negotiated := false
	var v Version
	// A router sends its first query at once (RFC 8210 §8.1); after that it may stay
	// silent for hours between queries, so only the first wait has a deadline. Once a PDU
	// has begun, all of it must come within PDUTimeout: half a header must not hold a
	// connection open.
	c.nc.SetReadDeadline(time.Now().Add(c.s.opts.FirstQueryTimeout))
	for {
		if _, err := br.Peek(1); err != nil {
			c.readFailed(err, negotiated, "first query")
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.s.opts.PDUTimeout))
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			c.readFailed(err, true, "PDU")
			return
		}
		pv, t := Version(hdr[0]), Type(hdr[1])
		length := binary.BigEndian.Uint32(hdr[4:])
		// The whole PDU, when its length is sane, to decode and to quote in Error Reports.
		pdu := hdr[:]
		if length >= headerLen && length <= MaxPDULen {
			pdu = make([]byte, length)
			copy(pdu, hdr[:])
			if _, err := io.ReadFull(br, pdu[headerLen:]); err != nil {
				c.readFailed(err, true, "PDU")
				return
			}
		}
		c.nc.SetReadDeadline(time.Time{})
		// RFC 8210 §7: the router's first query fixes the version. A version above ours is
		// answered in ours, so that the router can retry with it.
		switch {
		case !negotiated && pv > c.s.opts.MaxVersion:
			c.fail(c.s.opts.MaxVersion, UnsupportedVersion, pdu, "this cache speaks protocol version "+strconv.Itoa(int(c.s.opts.MaxVersion))+" at most")
			return
		case negotiated && pv != v:
			code := UnexpectedVersion
			if v == Version0 {
				code = UnsupportedVersion // RFC 6810 has no Unexpected Protocol Version
			}
			c.fail(v, code, pdu, "version "+strconv.Itoa(int(pv))+" after version "+strconv.Itoa(int(v))+" was negotiated")
			return
		}
		ev := pv // version of our Error Reports
		if negotiated {
			ev = v
		}
		if len(pdu) == headerLen && length != headerLen {
			c.fail(ev, CorruptData, pdu, "PDU length "+strconv.Itoa(int(length)))
			return
		}
		p, _, _, err := Decode(pdu)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				pe = &Error{Code: CorruptData, Msg: err.Error()}
			}
			c.fail(ev, pe.Code, pdu, pe.Msg)
			return
		}
		switch p := p.(type) {
		case *ResetQuery:
			c.s.m.queries.WithLabelValues("reset", versionLabel(pv)).Inc()
			if !c.send(request{kind: reqReset, version: pv}) {
				return
			}
		case *SerialQuery:
			c.s.m.queries.WithLabelValues("serial", versionLabel(pv)).Inc()
			if !c.send(request{kind: reqSerial, version: pv, session: p.Session, serial: p.Serial}) {
				return
			}
		case *ErrorReport:
			// RFC 8210 §5.11: never answer an Error Report.
			c.s.m.errorsReceived.WithLabelValues(strconv.Itoa(int(p.Code))).Inc()
			c.log.Warn("rtr router reported an error", "code", p.Code.String(), "text", p.Text)
			if p.Code.Fatal() || !negotiated {
				return
			}
			continue
		default:
			c.fail(ev, InvalidRequest, pdu, t.String()+" is not something a router sends")
			return
		}
		negotiated, v = true, pv
	}
}

// readFailed logs why reading ended: a deadline passed (what came late: the first query or
// the rest of a PDU) or the connection closed.
func (c *conn) readFailed(err error, started bool, what string) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.s.m.timeouts.WithLabelValues(map[bool]string{false: "first_query", true: "pdu"}[started]).Inc()
		c.log.Debug("rtr router too slow; dropped", "waiting_for", what)
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.log.Debug("rtr read", "err", err)
	}
}

// writeLoop answers the reader's requests and sends notifies, until the reader is done,
// a write fails or the server closes.
func (c *conn) writeLoop() {
	defer close(c.wdone)
	for {
		select {
		case r, ok := <-c.reqs:
			if !ok {
				return
			}
			if err := c.answer(r); err != nil {
				c.writeFailed(err)
				return
			}
			if r.kind == reqError && r.code.Fatal() {
				// Send FIN after the report; the reader drains until the router closes.
				if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
				return
			}
		case <-c.notify:
			if err := c.sendNotify(); err != nil {
				c.writeFailed(err)
				return
			}
		case <-c.s.done:
			c.nc.Close()
			return
		}
	}
}

func (c *conn) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.s.m.slowDropped.Inc()
		c.log.Warn("rtr router too slow to read; dropped", "write_timeout", c.s.opts.WriteTimeout)
	} else {
		c.log.Debug("rtr write", "err", err)
	}
	c.nc.Close()
}

func (c *conn) answer(r request) error {
	c.version = r.version
	session := c.s.sessions[r.version]
	if r.kind == reqError {
		c.s.m.errorsSent.WithLabelValues(strconv.Itoa(int(r.code))).Inc()
		pdu := r.pdu
		if len(pdu) > MaxPDULen/2 {
			pdu = pdu[:headerLen]
		}
		b, _ := Append(nil, r.version, &ErrorReport{Code: r.code, PDU: pdu, Text: r.text})
		return c.write(b)
	}
	st := c.s.state.Load()
	if st == nil {
		c.s.m.responses.WithLabelValues("no_data", versionLabel(r.version)).Inc()
		b, _ := Append(nil, r.version, &ErrorReport{Code: NoDataAvailable, Text: "the cache has no data yet"})
		return c.write(b)
	}
	var body []byte
	kind := "full"
	if r.kind == reqSerial {
		var ok bool
		switch {
		case r.session != session:
			ok = false
		case r.serial == st.serial:
			kind = "up_to_date"
			ok = true
		default:
			kind = "delta"
			body, ok = st.changesSince(r.serial, r.version)
		}
		if !ok {
			// RFC 8210 §5.9: the router must start over with a Reset Query.
			c.s.m.responses.WithLabelValues("cache_reset", versionLabel(r.version)).Inc()
			c.log.Info("rtr cache reset", "router_session", r.session, "router_serial", r.serial, "session", session, "serial", st.serial)
			b, _ := Append(nil, r.version, &CacheReset{})
			return c.write(b)
		}
	} else {
		body = st.payload(r.version)
	}
	c.s.m.responses.WithLabelValues(kind, versionLabel(r.version)).Inc()
	head, _ := Append(nil, r.version, &CacheResponse{Session: session})
	tail, _ := Append(nil, r.version, &EndOfData{Session: session, Serial: st.serial, Refresh: c.s.eod[0], Retry: c.s.eod[1], Expire: c.s.eod[2]})
	if err := c.write(head, body, tail); err != nil {
		return err
	}
	c.ready, c.serial = true, st.serial
	return nil
}

func (c *conn) sendNotify() error {
	st := c.s.state.Load()
	if !c.ready || st == nil || st.serial == c.serial {
		return nil
	}
	c.s.m.notifies.Inc()
	b, _ := Append(nil, c.version, &SerialNotify{Session: c.s.sessions[c.version], Serial: st.serial})
	return c.write(b)
}

// write writes parts in chunks of writeChunk bytes, each gathered into one writev and
// given WriteTimeout to go out.
func (c *conn) write(parts ...[]byte) error {
	var bufs net.Buffers
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
		w, err := bufs.WriteTo(c.nc)
		c.s.m.bytes.Add(float64(w))
		bufs, n = bufs[:0], 0
		return err
	}
	for _, p := range parts {
		for len(p) > 0 {
			k := min(len(p), writeChunk-n)
			bufs = append(bufs, p[:k])
			n += k
			p = p[k:]
			if n == writeChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func versionLabel(v Version) string { return strconv.Itoa(int(v)) }
