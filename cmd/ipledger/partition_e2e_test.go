package main

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger/cli"
)

// proxy forwards TCP connections to target until cut, which drops every open connection
// and refuses new ones until heal.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close(); c.Close() }()
		go func() { io.Copy(c, up); up.Close(); c.Close() }()
	}
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestPartition separates one of four validators from the others with TCP proxies the test
// controls: the three keep committing, the isolated one commits nothing, and once the
// partition heals it catches up and all agree on every app hash.
func TestPartition(t *testing.T) {
	tn := writeTestnet(t, t.TempDir(), "e2e-partition", 4)
	// Every link to or from node3 goes through a proxy: the others reach node3 through
	// their own proxy, and node3 reaches each of them through one.
	const iso = 3
	var proxies []*proxy
	for i, nd := range tn.Nodes {
		var cfg cli.Config
		path := filepath.Join(nd.Home, cli.ConfigFile)
		b, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(b, &cfg) != nil {
			t.Fatalf("config of %s: %v", nd.Name, err)
		}
		var peers []string
		for j, o := range tn.Nodes {
			if j == i {
				continue
			}
			addr := o.P2P
			if i == iso || j == iso {
				px := newProxy(t, o.P2P)
				proxies = append(proxies, px)
				addr = px.addr()
			}
			peers = append(peers, o.NodeID+"@"+addr)
		}
		if err := cfg.Set("peers", strings.Join(peers, ",")); err != nil {
			t.Fatal(err)
		}
		b, _ = json.MarshalIndent(cfg, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	procs := startTestnetProcs(t, tn)
	ld := startRegistryLoad(t, tn, procs, 0, tn.Nodes[0].Registries[:1])
	procs[iso].waitHeight(3, 60*time.Second)

	for _, px := range proxies {
		px.setCut(true)
	}
	time.Sleep(time.Second)
	isolated, majority := procs[iso].height(), procs[0].height()
	// A round whose proposer is the isolated node times out (3 s to propose) before the
	// next proposer's block commits, so give the majority a few rounds.
	time.Sleep(10 * time.Second)
	if h := procs[0].height(); h <= majority+1 {
		t.Fatalf("the majority stopped committing while one validator was cut off: %d → %d", majority, h)
	}
	if h := procs[iso].height(); h != isolated {
		t.Fatalf("the isolated validator committed on its own: %d → %d", isolated, h)
	}
	for _, px := range proxies {
		px.setCut(false)
	}
	top := procs[0].height()
	procs[iso].waitHeight(top, 90*time.Second)
	committed := ld.stop()
	top = procs[0].height()
	for _, p := range procs {
		p.waitHeight(top, 30*time.Second)
	}
	sameAppHashes(t, top, procs)
	t.Logf("%d transactions over %d heights; node3 cut off for 11 s and healed", len(committed), top)
}
