package whois

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/store"
)

const testChain = "whois-test"

var genesisTime = ipledgertest.RegistryStart

func res(s string) ipledger.Resource { return ipledger.MustParseResource(s) }

func item(r, org string, st ipledger.Status, country, date string) ipledger.AllocateItem {
	return ipledger.AllocateItem{Resource: res(r), Org: org, Status: st, Country: country, Registered: date}
}

// testState builds, through signed transactions, a small registry:
//
//	ORG-A  keyed, abuse mailbox: 193.0.0.0/16, 2001:600::/32, AS3333
//	ORG-B  keyless, imported with an opaque id: 193.1.0.0-193.1.0.99 (not a prefix)
//	ORG-C  keyed, no abuse mailbox: AS3400-AS3409, and below ORG-A's /16 193.0.0.0/24,
//	       193.0.4.0/22 and 193.0.8.0/22, which it assigns on to ORG-B (193.0.4.0/23,
//	       193.0.6.0/24, and all of 193.0.8.0/22)
//	193.2.0.0/16 allocated to ORG-A, whose upper half went to ORG-C by transfer
//
// It returns the state and the height of its last block.
func testState(t testing.TB) (ipledger.KV, int64) {
	t.Helper()
	r := newTestRegistry(t)
	return r.KV(), r.Height()
}

// newTestRegistry builds testState's registry, open for more transactions.
func newTestRegistry(t testing.TB) *ipledgertest.Registry {
	t.Helper()
	r := ipledgertest.NewRegistry(t, store.NewMemKV(), testChain, ipledgertest.Genesis())
	ripe := ipledger.RIPENCC
	r.Apply(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "NL", AbuseMailbox: "abuse@alpha.example", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}},
		{Handle: "ORG-B", Name: "Holder of record B-1 (imported)", Country: "DE", OpaqueID: "B-1"},
		{Handle: "ORG-C", Name: "Charlie Hosting", Country: "FR", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-C").Public()}},
	}}, ripe)
	r.Apply(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		item("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA, "NL", "2001-02-03"),
		item("193.1.0.0-193.1.0.99", "ORG-B", ipledger.StatusAssignedPI, "DE", "1999-12-31"),
		item("193.2.0.0/16", "ORG-A", ipledger.StatusAllocatedPA, "NL", "2002-01-01"),
		item("2001:600::/32", "ORG-A", ipledger.StatusAllocatedPA, "NL", "2003-03-03"),
		item("AS3333", "ORG-A", ipledger.StatusAllocatedAS, "NL", "1995-05-05"),
		item("AS3400-AS3409", "ORG-C", ipledger.StatusAllocatedAS, "FR", "1996-06-06"),
	}}, ripe)
	r.Apply(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		item("193.0.0.0/24", "ORG-C", ipledger.StatusAssignedPA, "FR", ""),
		item("193.0.4.0/22", "ORG-C", ipledger.StatusSubAllocatedPA, "FR", ""),
		item("193.0.8.0/22", "ORG-C", ipledger.StatusSubAllocatedPA, "FR", ""),
		item("2001:600::/48", "ORG-B", ipledger.StatusAssignedPA, "DE", ""),
	}}, "ORG-A")
	r.Apply(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		item("193.0.4.0/23", "ORG-B", ipledger.StatusAssignedPA, "DE", ""),
		item("193.0.6.0/24", "ORG-B", ipledger.StatusAssignedPA, "DE", ""),
		item("193.0.8.0/22", "ORG-B", ipledger.StatusAssignedPA, "DE", ""),
	}}, "ORG-C")
	r.Apply(ipledger.KindTransfer, ipledger.TransferBody{Resource: res("193.2.128.0/17"), To: "ORG-C"}, "ORG-A", "ORG-C")
	return r
}

// fakeSource serves a state map as the committed snapshot.
type fakeSource struct {
	ipledger.Reader // nil: the server reads only Committed
	snap            atomic.Pointer[ipledger.Snapshot]
}

func (f *fakeSource) Committed() *ipledger.Snapshot { return f.snap.Load() }

func newSource(kv ipledger.KV, height int64) *fakeSource {
	f := &fakeSource{}
	f.snap.Store(&ipledger.Snapshot{State: kv, Height: height,
		Block: ipledger.BlockRecord{Height: height, Time: genesisTime, AppHash: []byte{0xAB, 0xCD}}})
	return f
}

// newTestServer returns a server over the test state with the given limits.
func newTestServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Source == nil {
		o.Source = newSource(testState(t))
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ask answers one query line without a network, as the first answer of a connection.
func ask(s *Server, line string) string {
	q, err := ParseQuery(line)
	return s.respond(q, err, true)
}

// listen serves s on a loopback port and returns its address.
func listen(t testing.TB, s *Server) string {
	t.Helper()
	return ipledgertest.Serve(t, s.Serve, s.Close, ErrServerClosed)
}

// dial connects to addr with a deadline on everything.
func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// readUntilEnd reads one answer of a persistent connection: up to and including the two
// empty lines that end it.
func readUntilEnd(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "\n\n\n") {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// readAnswer is readUntilEnd for the test goroutine.
func readAnswer(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	text, err := readUntilEnd(br)
	if err != nil {
		t.Fatalf("reading an answer: %v after %q", err, text)
	}
	return text
}

// readAll reads until the server closes the connection.
func readAll(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	b, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("read: %v after %q", err, b)
	}
	return string(b)
}

// rpslObject is an object as a client reads it back.
type rpslObject struct {
	typ, key string
	attrs    map[string][]string
}

// parsed is an answer as a client reads it back: objects, comment lines and error codes.
type parsed struct {
	objects  []rpslObject
	comments []string
	errors   []string // "101", "201", …
	warnings []string
}

// parseAnswer reads an answer the way RPSL clients do: paragraphs separated by empty
// lines, comment lines starting with %.
func parseAnswer(t testing.TB, text string) parsed {
	t.Helper()
	var p parsed
	var cur *rpslObject
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "":
			cur = nil
		case strings.HasPrefix(line, "%ERROR:"):
			code, _, _ := strings.Cut(strings.TrimPrefix(line, "%ERROR:"), ":")
			p.errors = append(p.errors, code)
		case strings.HasPrefix(line, "%WARNING:"):
			code, _, _ := strings.Cut(strings.TrimPrefix(line, "%WARNING:"), ":")
			p.warnings = append(p.warnings, code)
		case strings.HasPrefix(line, "%"):
			p.comments = append(p.comments, line)
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("not an attribute line: %q in\n%s", line, text)
			}
			value = strings.TrimSpace(value)
			if cur == nil {
				p.objects = append(p.objects, rpslObject{typ: name, key: value, attrs: map[string][]string{}})
				cur = &p.objects[len(p.objects)-1]
			}
			cur.attrs[name] = append(cur.attrs[name], value)
		}
	}
	return p
}

// ids lists "type key" of each object, in order.
func (p parsed) ids() []string {
	var out []string
	for _, o := range p.objects {
		out = append(out, o.typ+" "+o.key)
	}
	return out
}

func (p parsed) hasComment(sub string) bool {
	for _, c := range p.comments {
		if strings.Contains(c, sub) {
			return true
		}
	}
	return false
}
