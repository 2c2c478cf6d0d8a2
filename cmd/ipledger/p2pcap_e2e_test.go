package main

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
)

// TestP2PLockout: silent connections to CometBFT's P2P port from one host past
// --p2p-max-conns-per-client are closed at once, before their handshake, while another
// host's connection is served (issue 13, item 1: one host could take every inbound slot).
func TestP2PLockout(t *testing.T) {
	p2pAddr := ipledgertest.FreeAddr(t)
	out := startNode(t, "dev", newHome(t), "--p2p", p2pAddr, "--p2p-max-conns-per-client", "4").out

	var conns []net.Conn
	dial := func(from string) net.Conn {
		t.Helper()
		c, err := dialFrom(from, p2pAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		return c
	}
	for range 20 {
		dial("127.0.0.2")
	}
	dial("127.0.0.3")
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
