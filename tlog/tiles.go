package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrTileNotFound means the log has no such tile (yet). Check with errors.Is.
var ErrTileNotFound = errors.New("no such tile")

// The log is also served as static tiles in the C2SP tlog-tiles layout: hash tiles of
// height 8 at "tile/<L>/<N>[.p/<W>]" and entry bundles at "tile/entries/<N>[.p/<W>]",
// where N is written in three-digit groups with an "x" before every group but the last
// ("x001/x234/067"). A full tile holds 256 hashes (or entries); a partial one, only for
// the right edge of the tree, holds W < 256.

// TileHeight is the number of tree levels a hash tile spans.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile and of entries in a full bundle.
const TileWidth = 1 << TileHeight

// MaxEntry is the largest log entry an entry bundle can carry (a 16-bit length prefix).
const MaxEntry = 1<<16 - 1

// Tile names a hash tile (Level ≥ 0) or an entry bundle (Level = -1).
type Tile struct {
	Level int    // tile level L: hashes of tree level 8·L; -1 for entries
	Index uint64 // N
	Width int    // W: 1..256; 256 is a full tile
}

// Path returns the tile's path below the log's base URL.
func (t Tile) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Level < 0 {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(t.Level))
		b.WriteByte('/')
	}
	b.WriteString(tileIndexPath(t.Index))
	if t.Width < TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func tileIndexPath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ParseTilePath parses a path written by Tile.Path ("tile/0/x001/234", "tile/entries/005.p/17").
// It accepts exactly the canonical form, so one tile has one path.
func ParseTilePath(p string) (Tile, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Tile{}, fmt.Errorf("tile path %.80q does not start with tile/", p)
	}
	var t Tile
	if r, ok := strings.CutPrefix(rest, "entries/"); ok {
		t.Level, rest = -1, r
	} else {
		l, r, ok := strings.Cut(rest, "/")
		lv, err := strconv.Atoi(l)
		if !ok || err != nil || lv < 0 || lv > 63 || strconv.Itoa(lv) != l {
			return Tile{}, fmt.Errorf("tile path %.80q: bad level", p)
		}
		t.Level, rest = lv, r
	}
	t.Width = TileWidth
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.Atoi(rest[i+3:])
		if err != nil || w < 1 || w >= TileWidth || strconv.Itoa(w) != rest[i+3:] {
			return Tile{}, fmt.Errorf("tile path %.80q: bad partial width", p)
		}
		t.Width, rest = w, rest[:i]
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 7 {
		return Tile{}, fmt.Errorf("tile path %.80q: index too long", p)
	}
	var n uint64
	for i, part := range parts {
		last := i == len(parts)-1
		digits := part
		if !last {
			var ok bool
			if digits, ok = strings.CutPrefix(part, "x"); !ok {
				return Tile{}, fmt.Errorf("tile path %.80q: index group %q lacks its x", p, part)
			}
		}
		v, err := strconv.ParseUint(digits, 10, 64)
		if len(digits) != 3 || err != nil || (i == 0 && !last && v == 0) {
			return Tile{}, fmt.Errorf("tile path %.80q: bad index group %q", p, part)
		}
		if n > (1<<64-1-v)/1000 {
			return Tile{}, fmt.Errorf("tile path %.80q: index overflows", p)
		}
		n = n*1000 + v
	}
	t.Index = n
	return t, nil
}

// AppendBundle appends entry to an entry bundle: a big-endian 16-bit length, then the
// entry.
func AppendBundle(b, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntry {
		return nil, fmt.Errorf("log entry of %d bytes is over the %d a bundle can carry", len(entry), MaxEntry)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(entry)))
	return append(b, entry...), nil
}

// SplitBundle returns the entries of an entry bundle.
func SplitBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("entry bundle: truncated length after %d entries", len(out))
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d needs %d bytes, %d left", len(out), n, len(b)-2)
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}
