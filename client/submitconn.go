package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// SubmitConn posts transactions to POST /v1/tx over one kept-alive HTTP/1.1 connection,
// writing each request and reading its response on the caller's goroutine. It is for load
// generators sharing a machine with the node they measure: net/http's Transport hands
// every request to a writer and a reader goroutine of its own, which costs about twice
// the CPU per request. Answers mean what they mean for [Client.Submit]. A SubmitConn is
// not safe for concurrent use; after a transport error it dials again on the next call.
type SubmitConn struct {
	host string
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// NewSubmitConn returns a SubmitConn to the node at base, an http:// URL such as
// "http://127.0.0.1:8080". It dials on first use.
func NewSubmitConn(base string) (*SubmitConn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("submit connection: %q is not an http://host:port base URL", base)
	}
	return &SubmitConn{host: u.Host}, nil
}

// Submit posts tx as [Client.Submit] does. ctx bounds the whole exchange.
func (s *SubmitConn) Submit(ctx context.Context, tx []byte, wait bool) (apitypes.SubmitResult, error) {
	res, err := s.submit(ctx, tx, wait)
	if err != nil && s.c != nil && !isAPIError(err) {
		s.c.Close() // the connection's state is unknown: start afresh
		s.c = nil
	}
	return res, err
}

func (s *SubmitConn) submit(ctx context.Context, tx []byte, wait bool) (apitypes.SubmitResult, error) {
	var res apitypes.SubmitResult
	if s.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", s.host)
		if err != nil {
			return res, fmt.Errorf("POST /v1/tx: %w", err)
		}
		s.c, s.br, s.bw = c, bufio.NewReader(c), bufio.NewWriter(c)
	}
	c := s.c
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(noDeadline)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(pastDeadline) })
	defer stop()
	target := "/v1/tx"
	if wait {
		target += "?wait=commit"
	}
	s.bw.WriteString("POST " + target + " HTTP/1.1\r\nHost: " + s.host +
		"\r\nContent-Type: application/octet-stream\r\nAccept: application/json\r\nContent-Length: " +
		strconv.Itoa(len(tx)) + "\r\n\r\n")
	s.bw.Write(tx)
	if err := s.bw.Flush(); err != nil {
		return res, fmt.Errorf("POST /v1/tx: %w", contextFirst(ctx, err))
	}
	resp, err := http.ReadResponse(s.br, nil)
	if err != nil {
		return res, fmt.Errorf("POST /v1/tx: %w", contextFirst(ctx, err))
	}
	b, err := readBody(resp.Body, MaxResponse)
	resp.Body.Close()
	if err != nil {
		return res, fmt.Errorf("POST /v1/tx: read response: %w", contextFirst(ctx, err))
	}
	if resp.Close {
		s.c.Close()
		s.c = nil
	}
	err = decodeAnswer(http.MethodPost, "/v1/tx", resp.StatusCode, b, &res)
	return res, err
}

// Close closes the connection, if one is open.
func (s *SubmitConn) Close() error {
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.c = nil
	return err
}

var (
	noDeadline   time.Time
	pastDeadline = time.Unix(1, 0)
)

// contextFirst returns ctx's error when ctx has ended (the deadline set from it is what
// broke the exchange), else err. The connection's deadline is ctx's, and it can pass a
// moment before ctx's own timer marks ctx done: a timeout at or after ctx's deadline is
// ctx's too.
func contextFirst(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// isAPIError reports whether err is an answer of the node rather than a transport failure.
func isAPIError(err error) bool {
	var e *ipledger.Error
	return errors.As(err, &e)
}
