package cli

import (
	"context"
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

	conns *netguard.Conns[net.Conn] // the clients' and CometBFT's sides of each forward
	wg    sync.WaitGroup            // the accept loop
}

// rpcFront binds the public RPC address (so that a busy port fails before the node
// starts) and picks the internal one. With addr "off" or empty it does nothing.
func (g *guard) rpcFront(ctx context.Context, addr string) (*rpcFront, error) {
	f := &rpcFront{internal: "off", log: g.log, conns: netguard.NewConns[net.Conn]()}
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
	f.conns.Listen(ln)
	return f, nil
}

// start forwards connections until Close.
func (f *rpcFront) start() {
	if f.ln == nil {
		return
	}
	f.log.Info("serving CometBFT RPC", "addr", f.ln.Addr().String(), "internal", f.internal)
	retrying := func(err error, wait time.Duration) {
		f.log.Warn("rpc accept failed; retrying", "err", err, "retry_in", wait)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := f.conns.Accept(f.ln, retrying)
			if err != nil {
				return
			}
			if !f.conns.Add(c) {
				c.Close()
				return
			}
			go f.forward(c)
		}
	}()
}

// forward copies between the client c and CometBFT until CometBFT's side ends. The
// client's end of input only half-closes CometBFT's side, so that an answer still
// comes back.
func (f *rpcFront) forward(c net.Conn) {
	defer f.conns.Remove(c)
	defer c.Close()
	up, err := net.DialTimeout("tcp", f.internal, 5*time.Second)
	if err != nil {
		return
	}
	if !f.conns.Add(up) {
		up.Close()
		return
	}
	defer f.conns.Remove(up)
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
	_, _, err := f.conns.Close()
	f.wg.Wait()
	return err
}
