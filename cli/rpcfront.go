package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ipledger/ipledger/netguard"
)

// rpcFront puts a capped listener in front of CometBFT's RPC. CometBFT v1.0.1 opens its
// RPC listener itself (rpcserver.Listen in node.startRPC) with only a global cap, and no
// node option replaces it; so the public address is ours, capped overall and per client,
// and each connection admitted is forwarded to CometBFT listening on an internal loopback
// port. CometBFT's own timeouts (10 s to read a request, its websocket pings) end idle
// connections, and the front closes the client's side when CometBFT closes its own.
type rpcFront struct {
	internal string // CometBFT's RPC address; "off" when RPC is off
	ln       *netguard.Listener
	log      *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// rpcFront binds the public RPC address (so that a busy port fails before the node
// starts) and picks the internal one. With addr "off" or empty it does nothing.
func (g *guard) rpcFront(ctx context.Context, addr string) (*rpcFront, error) {
	f := &rpcFront{internal: "off", log: g.log, conns: map[net.Conn]struct{}{}}
	if addr == "" || addr == "off" {
		return f, nil
	}
	ln, err := g.listen(ctx, listenRPC, addr)
	if err != nil {
		return nil, err
	}
	// A free loopback port for CometBFT: taken and released here, bound by CometBFT a
	// moment later.
	tmp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("rpc internal listener: %w", err)
	}
	f.internal = tmp.Addr().String()
	tmp.Close()
	f.ln = ln
	return f, nil
}

// start forwards connections until Close.
func (f *rpcFront) start() {
	if f.ln == nil {
		return
	}
	f.log.Info("serving CometBFT RPC", "addr", f.ln.Addr().String(), "internal", f.internal)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		var backoff time.Duration
		for {
			c, err := f.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				f.log.Warn("rpc accept failed; retrying", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			if !f.track(c) {
				c.Close()
				return
			}
			f.wg.Add(1)
			go f.forward(c)
		}
	}()
}

// track records c for Close; false once closed.
func (f *rpcFront) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *rpcFront) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// forward copies between the client c and CometBFT until CometBFT's side ends. The
// client's end of input only half-closes CometBFT's side, so that an answer still
// comes back.
func (f *rpcFront) forward(c net.Conn) {
	defer f.wg.Done()
	defer f.untrack(c)
	defer c.Close()
	up, err := net.DialTimeout("tcp", f.internal, 5*time.Second)
	if err != nil {
		return
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	defer up.Close()
	go func() {
		io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	io.Copy(c, up)
}

// Close stops the front and drops its connections.
func (f *rpcFront) Close() error {
	if f.ln == nil {
		return nil
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	err := f.ln.Close()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
