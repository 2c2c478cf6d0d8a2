package web

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
)

// checkpointSource is a Reader that also keeps the log's signed checkpoint (chain's App).
type checkpointSource interface {
	CosignedCheckpoint() []byte
}

// checkpoint is a C2SP tlog-checkpoint signed note as the page shows it.
type checkpoint struct {
	Origin string
	Size   uint64
	Root   string // base64, as in the note
	Sigs   []noteSig
	Text   string
}

// noteSig is one signature line of a signed note: the node's own (an Ed25519 note
// signature, 68 bytes with its key hash) or a witness's cosignature/v1 (76 bytes: key
// hash, timestamp, signature).
type noteSig struct {
	Name    string
	KeyHash string // hexadecimal
	Witness bool
	Time    time.Time // the cosignature's timestamp; zero for the log's own
}

// maxCheckpoint bounds the note parseCheckpoint reads.
const maxCheckpoint = 64 << 10

// parseCheckpoint reads a signed checkpoint note (C2SP signed-note and tlog-checkpoint):
// origin, size and root hash lines, extension lines, a blank line, then "— name base64"
// signature lines. It checks the form only; signatures are verified by `ipledger audit`.
func parseCheckpoint(b []byte) (*checkpoint, error) {
	if len(b) > maxCheckpoint {
		return nil, errors.New("checkpoint over 64 KiB")
	}
	text := string(b)
	body, sigs, ok := strings.Cut(text, "\n\n")
	if !ok {
		return nil, errors.New("checkpoint has no signature block")
	}
	lines := strings.Split(body, "\n")
	if len(lines) < 3 || lines[0] == "" {
		return nil, errors.New("checkpoint body needs origin, size and root hash lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return nil, fmt.Errorf("checkpoint size %.30q is not a decimal number", lines[1])
	}
	if root, err := base64.StdEncoding.DecodeString(lines[2]); err != nil || len(root) != 32 {
		return nil, fmt.Errorf("checkpoint root hash %.60q is not 32 bytes of base64", lines[2])
	}
	cp := &checkpoint{Origin: lines[0], Size: size, Root: lines[2], Text: text}
	if !strings.HasSuffix(sigs, "\n") {
		return nil, errors.New("checkpoint does not end with a newline")
	}
	for _, l := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		name, sig64, ok2 := strings.Cut(rest, " ")
		if !ok || !ok2 || name == "" {
			return nil, fmt.Errorf("checkpoint signature line %.80q: want \"— name signature\"", l)
		}
		sig, err := base64.StdEncoding.DecodeString(sig64)
		if err != nil || len(sig) < 5 {
			return nil, fmt.Errorf("checkpoint signature of %.60q is not base64 of a key hash and signature", name)
		}
		s := noteSig{Name: name, KeyHash: hex.EncodeToString(sig[:4])}
		if len(sig) == 4+8+64 {
			// cosignature/v1: the timestamp (seconds) follows the key hash.
			s.Witness, s.Time = true, time.Unix(int64(binary.BigEndian.Uint64(sig[4:12])), 0).UTC()
		}
		cp.Sigs = append(cp.Sigs, s)
	}
	if len(cp.Sigs) == 0 {
		return nil, errors.New("checkpoint carries no signature")
	}
	return cp, nil
}

// logData is the log page's model.
type logData struct {
	Checkpoint *checkpoint
	Problem    string // why no checkpoint is shown
	LogSize    uint64
	Chart      *chart
	Node       string
}

func (h *handler) logPage(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	d := &logData{LogSize: snap.Block.LogSize, Node: nodeURL(r)}
	if cs, ok := h.o.Reader.(checkpointSource); ok {
		if b := cs.CosignedCheckpoint(); b == nil {
			d.Problem = "no checkpoint is signed yet"
		} else if d.Checkpoint, _ = parseCheckpoint(b); d.Checkpoint == nil {
			d.Problem = "the node's checkpoint does not parse"
		}
	} else {
		d.Problem = "this node keeps no checkpoints"
	}
	var err error
	if d.Chart, err = h.logChart(snap.Height); err != nil {
		return nil, err
	}
	return &Page{Title: "Log and audit", JSON: "/v1/log/checkpoint", name: "log", Data: d}, nil
}

// chart is a line chart drawn on the server as SVG: Points in its viewBox.
type chart struct {
	Points       string // "x,y x,y …"
	Width        int
	Height       int
	MaxY         uint64
	FirstX       time.Time
	LastX        time.Time
	FirstH       int64
	LastH        int64
	Samples      int
	Description  string
	XAxisY, TopY int
}

// chartSamples is how many block records the log chart reads.
const chartSamples = 48

// logChart samples the log's size at up to chartSamples heights from 1 to height.
func (h *handler) logChart(height int64) (*chart, error) {
	if height < 1 {
		return nil, nil
	}
	type pt struct {
		h    int64
		t    time.Time
		size uint64
	}
	var pts []pt
	n := min(int64(chartSamples), height)
	for i := int64(0); i < n; i++ {
		ht := 1 + (height-1)*i/max(n-1, 1)
		if len(pts) > 0 && pts[len(pts)-1].h == ht {
			continue
		}
		rec, err := h.o.Reader.Block(ht)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", ht, err)
		}
		if rec != nil {
			pts = append(pts, pt{ht, rec.Time, rec.LogSize})
		}
	}
	if len(pts) == 0 {
		return nil, nil
	}
	c := &chart{Width: 600, Height: 240, XAxisY: 220, TopY: 20, Samples: len(pts)}
	first, last := pts[0], pts[len(pts)-1]
	c.FirstX, c.LastX, c.FirstH, c.LastH, c.MaxY = first.t, last.t, first.h, last.h, last.size
	span := max(last.h-first.h, 1)
	var b strings.Builder
	for i, p := range pts {
		x := 40 + (p.h-first.h)*540/span
		y := int64(c.XAxisY)
		if c.MaxY > 0 {
			y -= int64(p.size * uint64(c.XAxisY-c.TopY) / c.MaxY)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d,%d", x, y)
	}
	c.Points = b.String()
	c.Description = fmt.Sprintf("The log grew from %d entries at height %d to %d at height %d.", first.size, first.h, last.size, last.h)
	return c, nil
}
