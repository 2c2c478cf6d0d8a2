package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/rtr"
)

// dialFrom connects to addr from the loopback address from; 127.0.0.0/8 all work on Linux.
func dialFrom(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	return d.Dial("tcp", addr)
}

// dialMany opens n connections to addr from the loopback address from, closed when the
// test ends.
func dialMany(t *testing.T, from, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := dialFrom(from, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// TestRTRLockout: silent connections from one host beyond its per-client cap are closed at
// once, so a router elsewhere still gets its data (issue 13, item 6: 1,024 silent
// connections from one host used to lock every router out).
func TestRTRLockout(t *testing.T) {
	n := startRTRNode(t, "--rtr-max-conns", "64")
	held := dialMany(t, "127.0.0.2", n.rtr, 100)
	// Let the server take them all in before the router comes.
	time.Sleep(300 * time.Millisecond)
	a := resetQuery(t, n.rtr, rtr.Version1)
	if a.eod == nil {
		t.Fatalf("router locked out: %+v", a)
	}
	// The host's own connections past its cap were closed, not left waiting.
	open := 0
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "timeout") {
			open++
		}
	}
	if open > 8 {
		t.Errorf("%d of 100 silent connections from one host still open", open)
	}
}

// TestP2PLockout: silent connections to CometBFT's P2P port from one host past
// --p2p-max-conns-per-client are closed at once, before their handshake, while another
// host's connection is served (issue 13, item 1: one host could take every inbound slot).
func TestP2PLockout(t *testing.T) {
	p2pAddr := ipledgertest.FreeAddr(t)
	out := startNode(t, "dev", newHome(t), "--p2p", p2pAddr, "--p2p-max-conns-per-client", "4").out

	conns := append(dialMany(t, "127.0.0.2", p2pAddr, 20), dialMany(t, "127.0.0.3", p2pAddr, 1)...)
	// An admitted connection gets the node's half of the secret-connection handshake and
	// then nothing until the handshake timeout (5 s); a refused one is closed at once.
	closed := make([]bool, len(conns))
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			closed[i] = !errors.As(err, &ne) || !ne.Timeout()
		}()
	}
	wg.Wait()
	shut := 0
	for _, c := range closed[:20] {
		if c {
			shut++
		}
	}
	if shut != 16 {
		t.Errorf("%d of 20 silent P2P connections from 127.0.0.2 closed within a second, want the 16 past its 4th", shut)
	}
	if closed[20] {
		t.Error("127.0.0.3's P2P connection closed within a second")
	}
	if !strings.Contains(out.String(), `msg="connection cap reached; refusing connections" listener=p2p`) {
		t.Error("no log line for the refusals")
	}
}

// floodNode is `ipledger node` with every listener on, under a lowered descriptor limit.
type floodNode struct {
	home                       string
	http, p2p, rpc, whois, rtr string
	logs                       *ipledgertest.LockedBuffer
}

// floodLimit is the node's descriptor limit in the flood test: small enough that the flood
// below would exhaust it without caps.
const floodLimit = 1024

func startFloodNode(t *testing.T) *floodNode {
	t.Helper()
	n := &floodNode{home: initHome(t, "e2e-flood"), http: ipledgertest.FreeAddr(t), p2p: ipledgertest.FreeAddr(t), rpc: ipledgertest.FreeAddr(t),
		whois: ipledgertest.FreeAddr(t), rtr: ipledgertest.FreeAddr(t)}
	// The shell's ulimit sets the soft and the hard limit, so the node cannot raise it.
	n.logs = startProc(t, "/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, floodLimit), binary(t), "node", "--home", n.home,
		"--http", n.http, "--p2p", n.p2p, "--rpc", n.rpc, "--whois", n.whois, "--rtr", n.rtr, "--trusted-clients", "127.0.0.1").out
	waitUp(t, n.http, n.logs.String)
	return n
}

// flooder holds connections to one listener from many loopback addresses, each sending a
// prefix and then nothing (or a byte every few seconds), and reconnecting when closed, as
// an attacker keeping the pressure on would.
type flooder struct {
	addr   string
	prefix []byte
	drip   bool // send a byte every 2 s after the prefix
}

func (f *flooder) run(ctx context.Context, wg *sync.WaitGroup, hosts, perHost int) {
	for h := range hosts {
		from := fmt.Sprintf("127.0.%d.%d", 1+h/250, 2+h%250)
		for range perHost {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					c, err := dialFrom(from, f.addr)
					if err != nil {
						time.Sleep(100 * time.Millisecond)
						continue
					}
					f.hold(ctx, c)
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
	}
}

// hold keeps c open until the server closes it or ctx ends.
func (f *flooder) hold(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if len(f.prefix) > 0 {
		if _, err := c.Write(f.prefix); err != nil {
			return
		}
	}
	if !f.drip {
		io.Copy(io.Discard, c) // until the server closes
		return
	}
	go io.Copy(io.Discard, c)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		if _, err := c.Write([]byte{'x'}); err != nil {
			return
		}
	}
}

// listenerMetrics returns the node's ipledger_listener_… lines of /metrics.
func listenerMetrics(t *testing.T, addr string) string {
	t.Helper()
	return strings.Join(metricLines(t, addr, "ipledger_listener_", "process_open_fds", "ipledger_rtr_connections "), "\n")
}

// TestFloodKeepsCommitting is issue 13's end-to-end test of item 1: a node with a lowered
// descriptor limit is flooded on every listener (HTTP slow bodies, silent WHOIS, RTR,
// CometBFT RPC and P2P connections) from 127.0.0.2 and other loopback addresses, while a
// trusted client (127.0.0.1) submits transactions. The chain keeps committing them during
// and after the flood, and never logs a consensus failure.
func TestFloodKeepsCommitting(t *testing.T) {
	n := startFloodNode(t)
	cl := &client.Client{Base: "http://" + n.http}
	ripe := signer(t, n.home, ipledger.RIPENCC)
	seq := uint64(1)
	// register submits a transaction from the trusted address and waits for its commit.
	register := func(what string) {
		t.Helper()
		body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-F%d", seq), Name: "Flood test"}}}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := submitCommitted(ctx, cl, "e2e-flood", ipledger.KindRegisterOrg, seq, body, ripe); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seq++
	}
	register("before the flood")

	slowBody := []byte("POST /v1/tx HTTP/1.1\r\nHost: node\r\nContent-Type: application/octet-stream\r\nContent-Length: 65000\r\n\r\nx")
	floods := map[string]*flooder{
		"http":  {addr: n.http, prefix: slowBody, drip: true},
		"whois": {addr: n.whois},
		"rtr":   {addr: n.rtr},
		"rpc":   {addr: n.rpc, prefix: []byte("POST / HTTP/1.1\r\nHost: node\r\nContent-Length: 65000\r\n\r\n"), drip: true},
		"p2p":   {addr: n.p2p},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// 1,400 connections at once against a limit of 1,024: enough to exhaust it uncapped.
	floods["http"].run(ctx, &wg, 20, 30)
	floods["whois"].run(ctx, &wg, 10, 20)
	floods["rtr"].run(ctx, &wg, 10, 20)
	floods["rpc"].run(ctx, &wg, 10, 20)
	floods["p2p"].run(ctx, &wg, 10, 20)
	start := time.Now()
	committed := 0
	for time.Since(start) < 15*time.Second {
		register("during the flood")
		committed++
	}
	t.Logf("%d transactions committed during 15 s of flood; the node's listeners at its end:\n%s", committed, listenerMetrics(t, n.http))
	cancel()
	wg.Wait()
	for range 3 {
		register("after the flood")
	}
	logs := n.logs.String()
	for _, bad := range []string{"CONSENSUS FAILURE", "too many open files"} {
		if strings.Contains(logs, bad) {
			t.Errorf("the node logged %q", bad)
		}
	}
	if !strings.Contains(logs, "connection cap reached") {
		t.Error("the flood never reached a cap: it proves nothing")
	}
	if want := fmt.Sprintf(`msg="file descriptor budget" limit=%d `, floodLimit); !strings.Contains(logs, want) {
		t.Errorf("the node did not run under the lowered limit (no %q in its log)", want)
	}
}
