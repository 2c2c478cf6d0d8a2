package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ipledger/ipledger"
)

// Blocklist observations (issue 18):
//
//	'O' observer 0 list 0 't'              → the list's last timestamp posted (8 bytes)
//	'O' observer 0 list 0 'e' key(17) bits → Observation JSON: the observer's current set
//	'W' key(17) bits seq(8)                → ObservationEvent (encodeObsEvent): every listing and
//	                                         delisting, by position, for the passport
//	'n' 'O'                                → next event seq
const (
	tagObserved = 'O'
	tagObsEvent = 'W'

	counterObservation = 'O'
)

// DefaultMaxObservations is the most changes one observe transaction may carry: 400 DROP
// entries take about 30 KB of JSON, inside a transaction's size limit.
const DefaultMaxObservations = 400

// maxListName is the longest list name.
const maxListName = 64

// requireObserver is the signer rule of observe: o must be an admitted observer.
func requireObserver(o *ipledger.Organisation) error {
	if !o.Observer {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "%s is not an observer", o.Handle)
	}
	return nil
}

// ValidListName reports whether s names a list: 1 to 64 of a-z, 0-9, '.', '-', '_'.
func ValidListName(s string) bool {
	if s == "" || len(s) > maxListName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func listPrefix(observer, list string) []byte {
	k := append([]byte{tagObserved}, observer...)
	k = append(k, 0)
	k = append(k, list...)
	return append(k, 0)
}

func listTimeKey(observer, list string) []byte { return append(listPrefix(observer, list), 't') }

func observedKey(observer, list string, r ipledger.Resource, bits int) []byte {
	k := r.Key()
	return append(append(append(listPrefix(observer, list), 'e'), k[:]...), byte(bits))
}

func obsEventKey(r ipledger.Resource, bits int, seq uint64) []byte {
	k := r.Key()
	return binary.BigEndian.AppendUint64(append(append([]byte{tagObsEvent}, k[:]...), byte(bits)), seq)
}

// observe applies an observer's batch of changes to one list, in order: a listing of a
// prefix the observer's set holds is CodeExists, a delisting of one it lacks CodeNotFound;
// more than Params.MaxObservations changes is CodeTooLarge; a list timestamp older than
// the last posted for the list, a bad list name, event or prefix is CodeInvalid.
func (a *apply) observe(body *ipledger.ObserveBody) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	obs := a.signers[0].Handle
	switch {
	case !ValidListName(body.List):
		return ipledger.Errorf(ipledger.CodeInvalid, "list name %.70q: 1 to %d of a-z, 0-9, '.', '-', '_'", body.List, maxListName)
	case len(body.Changes) == 0:
		return ipledger.Errorf(ipledger.CodeInvalid, "observation of no change")
	case len(body.Changes) > p.MaxObservations:
		return ipledger.Errorf(ipledger.CodeTooLarge, "%d changes, at most %d in one transaction", len(body.Changes), p.MaxObservations)
	case body.ListTime <= 0:
		return ipledger.Errorf(ipledger.CodeInvalid, "list time %d: want the list's Unix timestamp", body.ListTime)
	}
	last, err := a.getU64(listTimeKey(obs, body.List))
	if err != nil {
		return err
	}
	if uint64(body.ListTime) < last {
		return ipledger.Errorf(ipledger.CodeInvalid, "list %s at %d is older than the last posted, %d", body.List, body.ListTime, last)
	}
	if err := a.setU64(listTimeKey(obs, body.List), uint64(body.ListTime)); err != nil {
		return err
	}
	for i, c := range body.Changes {
		if err := a.observeOne(obs, body, c); err != nil {
			if e, ok := err.(*ipledger.Error); ok {
				return ipledger.Errorf(e.Code, "change %d: %s", i, e.Message)
			}
			return err
		}
	}
	a.touch("org", obs)
	return nil
}

func (a *apply) observeOne(obs string, body *ipledger.ObserveBody, c ipledger.ObservationChange) error {
	if !c.Prefix.IsValid() || c.Prefix != c.Prefix.Masked() {
		return ipledger.Errorf(ipledger.CodeInvalid, "prefix %s: want a prefix without host bits", c.Prefix)
	}
	if len(c.ID) > maxListName {
		return ipledger.Errorf(ipledger.CodeInvalid, "list id %.70q: at most %d bytes", c.ID, maxListName)
	}
	r, err := ipledger.PrefixResource(c.Prefix)
	if err != nil {
		return ipledger.Errorf(ipledger.CodeInvalid, "prefix %s: %v", c.Prefix, err)
	}
	key := observedKey(obs, body.List, r, c.Prefix.Bits())
	cur, err := getJSON[ipledger.Observation](a.state, key, "observation")
	if err != nil {
		return err
	}
	switch c.Event {
	case ipledger.ObservationListed:
		if cur != nil {
			return ipledger.Errorf(ipledger.CodeExists, "%s is already on %s's %s", c.Prefix, obs, body.List)
		}
		o := &ipledger.Observation{Observer: obs, List: body.List, Prefix: c.Prefix, ID: c.ID,
			Height: a.block.Height, Time: a.block.Time.Unix(), ListTime: body.ListTime}
		if err := a.putJSON(key, o, "observation"); err != nil {
			return err
		}
	case ipledger.ObservationDelisted:
		if cur == nil {
			return ipledger.Errorf(ipledger.CodeNotFound, "%s is not on %s's %s", c.Prefix, obs, body.List)
		}
		if err := a.kv.Delete(key); err != nil {
			return fmt.Errorf("delete observation: %w", err)
		}
	default:
		return ipledger.Errorf(ipledger.CodeInvalid, "event %.20q: listed or delisted", c.Event)
	}
	if err := a.observedAbuse(obs, body.List, c, r); err != nil {
		return err
	}
	seq, err := a.next(counterObservation)
	if err != nil {
		return err
	}
	ev := &ipledger.ObservationEvent{Seq: seq, Observer: obs, List: body.List, Event: c.Event, Prefix: c.Prefix,
		ID: c.ID, Height: a.block.Height, Time: a.block.Time.Unix(), ListTime: body.ListTime}
	return a.kv.Set(obsEventKey(r, c.Prefix.Bits(), seq), encodeObsEvent(ev))
}

// An observation event is stored in binary, read a hundred at a time by a passport: the
// header the grade reads alone — 1 for a listing, 0 for a delisting, and the block time
// (8 bytes) — then the height and the list time (8 bytes each), the prefix (netip's
// binary form) and the observer, list and list id, each after its uvarint length. Its
// sequence is in the key.
const obsHeaderLen = 9

func encodeObsEvent(ev *ipledger.ObservationEvent) []byte {
	listed := byte(0)
	if ev.Event == ipledger.ObservationListed {
		listed = 1
	}
	b := binary.BigEndian.AppendUint64([]byte{listed}, uint64(ev.Time))
	b = binary.BigEndian.AppendUint64(b, uint64(ev.Height))
	b = binary.BigEndian.AppendUint64(b, uint64(ev.ListTime))
	p, _ := ev.Prefix.MarshalBinary()
	for _, f := range [][]byte{p, []byte(ev.Observer), []byte(ev.List), []byte(ev.ID)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// decodeObsEvent reads what encodeObsEvent wrote; seq comes from the key.
func decodeObsEvent(b []byte, seq uint64) (ipledger.ObservationEvent, error) {
	ev := ipledger.ObservationEvent{Seq: seq}
	if len(b) < obsHeaderLen+16 || b[0] > 1 {
		return ev, fmt.Errorf("observation event %d: short or bad header", seq)
	}
	ev.Event = ipledger.ObservationDelisted
	if b[0] == 1 {
		ev.Event = ipledger.ObservationListed
	}
	ev.Time = int64(binary.BigEndian.Uint64(b[1:]))
	ev.Height = int64(binary.BigEndian.Uint64(b[9:]))
	ev.ListTime = int64(binary.BigEndian.Uint64(b[17:]))
	b = b[25:]
	var fields [4][]byte
	for i := range fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return ev, fmt.Errorf("observation event %d: bad field %d", seq, i)
		}
		fields[i], b = b[k:k+int(n)], b[k+int(n):]
	}
	if len(b) != 0 {
		return ev, fmt.Errorf("observation event %d: %d bytes left over", seq, len(b))
	}
	if err := ev.Prefix.UnmarshalBinary(fields[0]); err != nil {
		return ev, fmt.Errorf("observation event %d: %w", seq, err)
	}
	// Only the form observe stores: a masked prefix without a zone.
	if !ev.Prefix.IsValid() || ev.Prefix != ev.Prefix.Masked() || len(fields[0]) != 1+ev.Prefix.Addr().BitLen()/8 {
		return ev, fmt.Errorf("observation event %d: prefix not in canonical form", seq)
	}
	ev.Observer, ev.List, ev.ID = string(fields[1]), string(fields[2]), string(fields[3])
	return ev, nil
}

// Observations calls fn with observer's current set of list, in prefix order, from just
// after prefix after (the zero Prefix: from the start), until fn returns false.
func Observations(kv ipledger.KV, observer, list string, after ipledger.Resource, afterBits int, fn func(*ipledger.Observation) bool) error {
	p := append(listPrefix(observer, list), 'e')
	start := p
	if after.IsValid() {
		start = append(observedKey(observer, list, after, afterBits), 0)
	}
	return eachJSONRange(kv, start, prefixEnd(p), fn)
}

// ListTime returns the last list timestamp observer posted for list, 0 if none.
func ListTime(kv ipledger.KV, observer, list string) (int64, error) {
	t, err := state{kv}.getU64(listTimeKey(observer, list))
	return int64(t), err
}

// eachJSONRange decodes the values of [start, end) as T, in key order.
func eachJSONRange[T any](kv ipledger.KV, start, end []byte, fn func(*T) bool) error {
	var derr error
	err := kv.Iterate(start, end, false, func(_, v []byte) bool {
		var x T
		if derr = json.Unmarshal(v, &x); derr != nil {
			return false
		}
		return fn(&x)
	})
	if err == nil {
		err = derr
	}
	return err
}

// scanOverlapping calls fn with the entries of a table keyed tag ‖ Resource.Key() ‖ …
// that may overlap r, in two passes: those starting inside r, then (containing true)
// those starting before it at one of the aligned blocks containing r's first number,
// which overlap r only if they reach that number: fn checks. It stops when fn returns
// false.
func scanOverlapping(kv ipledger.KV, tag byte, r ipledger.Resource, fn func(k, v []byte, containing bool) bool) error {
	stopped := false
	scan := func(start, end []byte, containing bool) error {
		return kv.Iterate(start, end, false, func(k, v []byte) bool {
			stopped = !fn(k, v, containing)
			return !stopped
		})
	}
	lo, hi := r.Key(), r.LastPoint().Key()
	end := append(append([]byte{tag}, hi[:]...), bytes.Repeat([]byte{0xFF}, 16)...)
	if err := scan(append([]byte{tag}, lo[:]...), end, false); err != nil || stopped {
		return err
	}
	var last [17]byte
	for b := r.Family().Bits() - 1; b >= 0; b-- {
		k := r.Point().Block(b).Key()
		if k == lo || k == last {
			continue
		}
		last = k
		p := append([]byte{tag}, k[:]...)
		if err := scan(p, prefixEnd(p), true); err != nil || stopped {
			return err
		}
	}
	return nil
}

// obsRef is an observation event found by position: its prefix (key and length), its
// sequence and header.
type obsRef struct {
	prefix [18]byte
	seq    uint64
	listed bool
	time   int64
}

func (o obsRef) key() []byte {
	return binary.BigEndian.AppendUint64(append([]byte{tagObsEvent}, o.prefix[:]...), o.seq)
}

// observationRefs returns the events on prefixes overlapping r, in chain order (seq),
// reading keys and headers only.
func observationRefs(kv ipledger.KV, r ipledger.Resource) ([]obsRef, error) {
	var refs []obsRef
	pt := r.Point()
	err := scanOverlapping(kv, tagObsEvent, r, func(k, v []byte, containing bool) bool {
		if len(k) != 1+17+1+8 || len(v) < obsHeaderLen {
			return true
		}
		// At an aligned block containing r's first number, a prefix of length L reaches
		// that number if it is the number's own block of L bits.
		if containing && (int(k[18]) > r.Family().Bits() || pt.Block(int(k[18])).Key() != [17]byte(k[1:18])) {
			return true
		}
		refs = append(refs, obsRef{prefix: [18]byte(k[1:19]), seq: binary.BigEndian.Uint64(k[19:]),
			listed: v[0] == 1, time: int64(binary.BigEndian.Uint64(v[1:obsHeaderLen]))})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("scan observations: %w", err)
	}
	slices.SortFunc(refs, func(x, y obsRef) int { return cmpU64(x.seq, y.seq) })
	return refs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ObservationsOverlapping returns at most limit observation events on prefixes overlapping
// r with seq greater than after, in chain order, and whether more follow.
func ObservationsOverlapping(kv ipledger.KV, r ipledger.Resource, after uint64, limit int) ([]ipledger.ObservationEvent, bool, error) {
	refs, err := observationRefs(kv, r)
	if err != nil {
		return nil, false, err
	}
	return observationPage(kv, refs, after, limit)
}

func observationPage(kv ipledger.KV, refs []obsRef, after uint64, limit int) ([]ipledger.ObservationEvent, bool, error) {
	i, _ := slices.BinarySearchFunc(refs, after+1, func(x obsRef, seq uint64) int { return cmpU64(x.seq, seq) })
	refs = refs[i:]
	more := len(refs) > limit
	refs = refs[:min(len(refs), limit)]
	out := make([]ipledger.ObservationEvent, 0, len(refs))
	for _, ref := range refs {
		b, err := kv.Get(ref.key())
		if err != nil {
			return nil, false, fmt.Errorf("get observation event: %w", err)
		}
		ev, err := decodeObsEvent(b, ref.seq)
		if err != nil {
			return nil, false, ipledger.Errorf(ipledger.CodeInternal, "%v", err)
		}
		out = append(out, ev)
	}
	return out, more, nil
}

// Grades of a block's reputation (Grade).
const (
	GradeA = "A" // no listing within the grade window
	GradeB = "B" // listed within the window, delisted since
	GradeC = "C" // listed now
)

// Grade is a block's reputation at block time now, from the observation events on
// prefixes overlapping it, in chain order: C if some observer's list holds an overlapping
// prefix now, B if one did within p.GradeWindow seconds before now, A otherwise.
// GradeOf also weighs the block's abuse cases (an upheld decision within
// p.CaseGradeWindow makes it C, a reversed one B). An
// observer's list holds a prefix at most once at a time (observe refuses a second
// listing), so a prefix is held now by as many lists as its listings outnumber its
// delistings. The same events and time give the same grade on every node.
func Grade(events []ipledger.ObservationEvent, now int64, p Params) string {
	items := make([]gradeItem, len(events))
	for i, e := range events {
		r, _ := ipledger.PrefixResource(e.Prefix)
		k := r.Key()
		items[i] = gradeItem{prefix: [18]byte(append(k[:], byte(e.Prefix.Bits()))), listed: e.Event == ipledger.ObservationListed, time: e.Time}
	}
	return gradeOf(items, now, p.withDefaults().GradeWindow)
}

// gradeItem is what the grade needs of an event.
type gradeItem struct {
	prefix [18]byte // Resource.Key and length, as in the event's key
	listed bool
	time   int64
}

func gradeOf(items []gradeItem, now, window int64) string {
	held := map[[18]byte]int{} // listings less delistings per prefix; only looked up
	recent := false
	for _, it := range items {
		if it.listed {
			held[it.prefix]++
		} else {
			held[it.prefix]--
		}
		recent = recent || it.time >= now-window
	}
	for _, it := range items {
		if held[it.prefix] > 0 {
			return GradeC
		}
	}
	if recent {
		return GradeB
	}
	return GradeA
}

// GradeOf is Grade over every observation event on prefixes overlapping r, worsened by
// the cases on blocks overlapping r (caseGrade), with the parameters in kv. It reads the events' keys and headers, not their JSON.
func GradeOf(kv ipledger.KV, r ipledger.Resource, now int64) (string, error) {
	g, _, _, err := PassportObservations(kv, r, now, 0, 0)
	return g, err
}

// PassportObservations is GradeOf and, in the same scan, ObservationsOverlapping.
func PassportObservations(kv ipledger.KV, r ipledger.Resource, now int64, after uint64, limit int) (grade string, evs []ipledger.ObservationEvent, more bool, err error) {
	p, err := state{kv}.params()
	if err != nil {
		return "", nil, false, err
	}
	refs, err := observationRefs(kv, r)
	if err != nil {
		return "", nil, false, err
	}
	items := make([]gradeItem, len(refs))
	for i, ref := range refs {
		items[i] = gradeItem{prefix: ref.prefix, listed: ref.listed, time: ref.time}
	}
	grade = gradeOf(items, now, p.GradeWindow)
	cases, err := caseRefs(kv, r)
	if err != nil {
		return "", nil, false, err
	}
	grade = worseGrade(grade, caseGrade(cases, now, p.CaseGradeWindow))
	if limit > 0 {
		evs, more, err = observationPage(kv, refs, after, limit)
	}
	return grade, evs, more, err
}
