package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/vrpfeed"
	"github.com/ipledger/ipledger/web"
)

// server is a running node with its listeners.
type server struct {
	node *chain.Node
	http *http.Server
	addr string // the HTTP listener's actual address
	log  *slog.Logger
	// closers stop the other listeners (WHOIS, RTR) before the node, last started first.
	closers []func() error
	// vrps is the served route authorisation set (RTR and /v1/vrps.json), nil when off.
	vrps *vrpfeed.Feed
	// guard caps the listeners (cli/guard.go).
	guard *guard
}

// startServer starts the node in home and its HTTP listener.
func startServer(ctx context.Context, home string, sf serveFlags, log *slog.Logger) (*server, error) {
	ceiling, err := tuneGC(sf.memLimit)
	if err != nil {
		return nil, err
	}
	if ceiling > 0 {
		go governMemory(ctx, ceiling, memHeadroom)
	}
	if sf.pprof != "off" && sf.pprof != "" {
		if _, err := startPprof(ctx, sf.pprof, log); err != nil {
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ss, err := sf.stateSync.options()
	if err != nil {
		return nil, err
	}
	disk, err := sf.disk()
	if err != nil {
		return nil, err
	}
	if err := chain.CheckDisk(home, disk); err != nil {
		return nil, err
	}
	g, err := newGuard(sf, reg, log)
	if err != nil {
		return nil, err
	}
	rpc, err := g.rpcFront(ctx, sf.rpc)
	if err != nil {
		return nil, err
	}
	n, err := chain.Start(ctx, chain.NodeOptions{Home: home, P2PAddr: sf.p2p, RPCAddr: rpc.internal, Peers: sf.peers, Logger: log, Registry: reg, Witnesses: sf.witnesses, NoCheckpoints: sf.noCheckpoints,
		SnapshotInterval: sf.snapshotInterval, SnapshotKeep: sf.snapshotKeep, StateSync: ss, TimeoutCommit: sf.timeoutCommit, Disk: disk,
		RPCMaxConns: g.budget.Conns(listenRPC), P2PMaxInbound: min(g.budget.Conns(listenP2P), maxInboundPeers),
		P2PMaxPerClient: sf.guard.p2pPerClient, Trusted: g.trusted, ListenerMetrics: g.m, NoWALPreallocate: sf.dev})
	if err != nil {
		rpc.Close()
		return nil, err
	}
	s := &server{node: n, log: log, guard: g}
	s.closers = append(s.closers, rpc.Close)
	rpc.start()
	if err := s.startListeners(ctx, sf, reg); err != nil {
		s.stop()
		return nil, err
	}
	if sf.beforeHTTP != nil {
		sf.beforeHTTP(ctx, s)
	}
	if sf.http != "off" && sf.http != "" {
		ln, err := g.listen(ctx, listenHTTP, sf.http)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.addr = ln.Addr().String()
		mounts, err := s.mounts(sf, reg)
		if err != nil {
			ln.Close()
			s.stop()
			return nil, err
		}
		h := httpapi.New(httpapi.Options{Node: s.statusBackend(n), Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Logger: log, Mounts: mounts, Registerer: reg, CommitWait: commitWait})
		s.http = g.httpServer(h, commitWait)
		go func() {
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		log.Info("serving HTTP", "addr", s.addr, "api", "http://"+s.addr+"/v1/status")
	}
	return s, nil
}

// commitWait bounds POST /v1/tx?wait=commit; the HTTP server's WriteTimeout stays above it.
const commitWait = 30 * time.Second

// maxInboundPeers bounds CometBFT's inbound peers whatever the budget: each costs buffers
// and goroutines, and a network of operators has a handful.
const maxInboundPeers = 100

// startListeners starts the TCP services besides HTTP, each unless its address is "off".
func (s *server) startListeners(ctx context.Context, sf serveFlags, reg prometheus.Registerer) error {
	if err := s.startWHOIS(ctx, sf, reg); err != nil {
		return err
	}
	return s.startRTR(ctx, sf, reg)
}

// mounts returns the handlers served beside the JSON API on the HTTP listener, by
// ServeMux pattern.
func (s *server) mounts(sf serveFlags, reg prometheus.Registerer) (map[string]http.Handler, error) {
	m := map[string]http.Handler{}
	if err := s.mountRDAP(m, sf, reg); err != nil {
		return nil, err
	}
	if err := s.mountRTR(m, sf, reg); err != nil {
		return nil, err
	}
	if !sf.noWeb {
		explorer := web.New(web.Options{Reader: s.node.Reader(), Logger: s.log, Registerer: reg})
		for _, p := range web.Patterns() {
			m[p] = explorer
		}
	}
	return m, nil
}

// haltStopTimeout bounds the stop of a halted node: its consensus routine is gone, and a
// stop that hangs on it must not keep the process from exiting.
const haltStopTimeout = 30 * time.Second

// wait runs until ctx ends (a clean stop) or the node halts: then it stops the node and
// returns an exit error, the reason being logged already (chain.Node.Halted).
func (s *server) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		return s.stop()
	case <-s.node.Halted():
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			s.log.Warn("stopping the halted node", "err", err)
		}
	case <-time.After(haltStopTimeout):
		s.log.Warn("the halted node did not stop in time; exiting anyway", "timeout", haltStopTimeout)
	}
	return &exitError{code: 1}
}

// stop shuts the listeners down, then the node.
func (s *server) stop() error {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.http.Shutdown(ctx)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.log.Warn("closing listener", "err", err)
		}
	}
	return s.node.Stop()
}

// gcPercent is the node's GOGC. A node under load allocates fast (decoded transactions,
// HTTP requests, block buffers) over a live heap that is mostly the state mirror; with
// Go's default of 100 the collector took about a sixth of its CPU. At 300 it runs a third
// as often (docs/BENCHMARKS.md), and the soft memory limit still bounds the heap where
// the state is large.
const gcPercent = 300

// tuneGC sets the collector's pace: GOGC gcPercent and a soft limit v on the Go heap, so
// a node keeps its peak resident size near the limit by collecting earlier. It returns
// the limit it set, 0 if none (v "off", or the environment's GOGC and GOMEMLIMIT, which
// win).
func tuneGC(v string) (int64, error) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := parseMemLimit(v)
	if err != nil {
		return 0, fmt.Errorf("--mem-limit: %w", err)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit, nil
}

// parseMemLimit returns the bytes of --mem-limit's value v (GOMEMLIMIT's syntax: a whole
// number of B, KiB, MiB or GiB), 0 for "off" or "".
func parseMemLimit(v string) (int64, error) {
	if v == "" || v == "off" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			x, err := strconv.ParseInt(n, 10, 64)
			if err != nil || x <= 0 || x > math.MaxInt64/u.mult {
				break
			}
			return x * u.mult, nil
		}
	}
	return 0, errors.New("want a size like 800MiB or 4GiB, or off")
}

// memHeadroom is the garbage the collector may leave above the live heap before it
// collects, where that is less than GOGC would leave (governMemory).
const memHeadroom = 192 << 20

// governMemory keeps the soft memory limit at what the live heap and the runtime's other
// memory need plus headroom (at least memHeadroom, half the live heap when that is more),
// never above ceiling, until ctx ends. GOGC 300 lets the heap grow to four times the live
// heap; over a large state (a registry with the RIRs' records) that is always the ceiling,
// so any sustained load, cheap reads included, took a node from its idle size to the
// ceiling (issue 13: 1.6–1.7 times idle under a read flood). Over a small state GOGC
// collects first and the limit changes nothing; during an import the live heap is large
// and the limit stays at the ceiling. The figure is read every half second.
func governMemory(ctx context.Context, ceiling, headroom int64) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	defer debug.SetMemoryLimit(ceiling)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		debug.SetMemoryLimit(memoryLimitFor(readMemory(), ceiling, headroom))
	}
}

// memoryFigures are the runtime's figures governMemory uses, in bytes.
type memoryFigures struct {
	live    int64 // the heap live at the last collection
	nonHeap int64 // the runtime's memory besides the heap: stacks, metadata, buffers
}

// memoryLimitFor returns the soft limit for m: live heap, non-heap memory and
// max(headroom, live/2), at most ceiling.
func memoryLimitFor(m memoryFigures, ceiling, headroom int64) int64 {
	return min(ceiling, m.live+m.nonHeap+max(headroom, m.live/2))
}

var memorySamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

func readMemory() memoryFigures {
	s := make([]metrics.Sample, len(memorySamples))
	for i, n := range memorySamples {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(s[i].Value.Uint64())
	}
	// Objects, unused, free and released are the heap; the rest of total is the runtime's.
	heap := v(2) + v(3) + v(4) + v(5)
	return memoryFigures{live: v(0), nonHeap: max(0, v(1)-heap)}
}
