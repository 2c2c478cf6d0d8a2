package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// nopSink discards what a restore would write.
type nopSink struct{}

func (nopSink) setState(k, v []byte) error { return nil }
func (nopSink) setSide(k, v []byte) error  { return nil }

// FuzzSnapshotStream feeds arbitrary bytes, cut in two at an arbitrary point, to the
// snapshot decoders: the metadata decoder, the record decoder and the restorer's checks.
// None may panic; the restorer refuses with errMalformed and nothing else; decoding does
// not depend on where the stream is cut; and whatever decodes re-encodes to the same bytes.
// Seeded with the stream and metadata of a real snapshot.
func FuzzSnapshotStream(f *testing.F) {
	smallChunks(f)
	src, _, _ := sourceChain(f)
	sn := src.waitSnapshot(f, 40)
	stream := bytes.Join(src.chunks(f, sn), nil)
	f.Add(stream, uint(len(stream)/3))
	f.Add(stream[:len(stream)/2], uint(100))
	f.Add(sn.Metadata, uint(0))
	f.Add([]byte{}, uint(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		if m, err := decodeSnapshotMeta(data); err == nil {
			if !bytes.Equal(m.encode(), data) {
				t.Fatalf("metadata %x re-encodes to %x", data, m.encode())
			}
		} else if !errors.Is(err, errMalformed) {
			t.Fatalf("metadata: %v", err)
		}
		c := int(cut % uint(len(data)+1))

		// Records, fed whole and in two pieces.
		decode := func(pieces ...[]byte) ([]byte, int, error) {
			var d streamDecoder
			var out []byte
			for _, p := range pieces {
				if err := d.feed(p, func(tag byte, k, v []byte) error {
					out = appendRecord(out, tag, k, v)
					return nil
				}); err != nil {
					return out, d.pending(), err
				}
			}
			return out, d.pending(), nil
		}
		whole, wp, werr := decode(data)
		split, sp, serr := decode(data[:c], data[c:])
		if (werr == nil) != (serr == nil) || (werr == nil && (!bytes.Equal(whole, split) || wp != sp)) {
			t.Fatalf("decoding depends on the cut at %d: %v / %v", c, werr, serr)
		}
		if werr == nil && wp == 0 && !bytes.Equal(whole, data) {
			t.Fatalf("records re-encode to other bytes")
		}
		if werr != nil && !errors.Is(werr, errMalformed) {
			t.Fatalf("decode: %v", werr)
		}

		// The restorer's checks, at the height the header names.
		h := int64(40)
		if tag, _, v, _, err := parseRecord(data); err == nil && tag == recHeader && len(v) == 8 {
			h = int64(binary.BigEndian.Uint64(v))
		}
		r := newRestorer(h, nopSink{})
		err := r.feed(data[:c])
		if err == nil {
			err = r.feed(data[c:])
		}
		if err == nil {
			_, _, err = r.finish()
		}
		if err != nil && !errors.Is(err, errMalformed) {
			t.Fatalf("restore: %v", err)
		}
	})
}
