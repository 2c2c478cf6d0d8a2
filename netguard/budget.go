package netguard

import (
	"fmt"
	"strings"
)

// Budget is how the process's file descriptors are shared: a reserve for what must never
// run out (CometBFT's consensus WAL and signing state, the block and state stores, the
// ledger store, outgoing connections to peers and witnesses, log files), and the rest split
// into the caps of the public listeners. Running out of descriptors while CometBFT saves its
// signing state halts consensus for good, so the listeners' caps are what keeps the reserve
// untouched.
type Budget struct {
	// Limit is the process's descriptor limit (RLIMIT_NOFILE's soft limit).
	Limit int
	// Reserved is the share kept for the node's own files and outgoing connections.
	Reserved int
	// Caps is each listener's overall connection cap, by name, in the order of the shares
	// given to PlanBudget.
	Caps []Cap
}

// Cap is one listener's share of a Budget.
type Cap struct {
	Name string
	// Weight is the listener's share of what is not reserved, relative to the others'.
	Weight int
	// PerConn is the descriptors one connection costs the process (2 for a listener that
	// forwards each connection to another one in-process, say); 0 means 1.
	PerConn int
	// Conns is the cap PlanBudget computed: connections, not descriptors.
	Conns int
}

// Budget limits.
const (
	// MinReserved is the least reserve: CometBFT alone keeps a few dozen files open (WAL,
	// LevelDB or Pebble tables of its block and state stores), the ledger store more.
	MinReserved = 256
	// MinListenerShare is the least the listeners together get; a limit leaving less is
	// refused, since caps that small would lock out ordinary clients.
	MinListenerShare = 64
)

// PlanBudget splits limit descriptors: max(MinReserved, a quarter) reserved, the rest
// shared among caps by weight. It fails when the rest is under MinListenerShare: the
// node should not start with a limit too small to keep its own files safe.
func PlanBudget(limit int, caps []Cap) (Budget, error) {
	reserved := max(MinReserved, limit/4)
	rest := limit - reserved
	if rest < MinListenerShare {
		return Budget{}, fmt.Errorf("file descriptor limit %d is too small: %d are reserved for consensus and the stores and the listeners need at least %d (raise it with ulimit -n or the service's LimitNOFILE)",
			limit, reserved, MinListenerShare)
	}
	total := 0
	for _, c := range caps {
		total += max(0, c.Weight)
	}
	b := Budget{Limit: limit, Reserved: reserved}
	for _, c := range caps {
		per := max(1, c.PerConn)
		if total > 0 {
			c.Conns = max(1, rest*max(0, c.Weight)/total/per)
		}
		b.Caps = append(b.Caps, c)
	}
	return b, nil
}

// Conns returns the cap of the listener named name; 0 if it has none.
func (b Budget) Conns(name string) int {
	for _, c := range b.Caps {
		if c.Name == name {
			return c.Conns
		}
	}
	return 0
}

// String lists the caps as name=conns, for the log.
func (b Budget) String() string {
	s := make([]string, len(b.Caps))
	for i, c := range b.Caps {
		s[i] = fmt.Sprintf("%s=%d", c.Name, c.Conns)
	}
	return strings.Join(s, " ")
}
