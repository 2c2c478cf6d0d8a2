// Package witness is a transparency log witness (C2SP tlog-witness): it cosigns a log's
// checkpoints, with Ed25519 cosignature/v1 signatures (C2SP tlog-cosignature), once it has
// checked that each is signed by the log and is an append-only extension of the last
// checkpoint it cosigned for that log. It keeps that last checkpoint per log on disk,
// written atomically and synced before it answers, so that no restart makes it cosign a
// checkpoint inconsistent with one it cosigned before: two views of a log that differ
// (a split view) cannot both get its cosignature.
//
// The package also holds the client side the node uses: Client sends add-checkpoint
// requests, VerifyCosignatures checks the answer, and NewVerifier reads a witness's key.
//
// A witness directory holds:
//
//	witness.key        the cosigner key (signer key, then verifier key), 0600
//	logs/<sha256(origin) in hex>   the last checkpoint note cosigned for that origin
//	LOCK               held while a witness runs on the directory
package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger/tlog"
)

// Errors of AddCheckpoint, each answered with its HTTP status by the handler (C2SP
// tlog-witness). Check with errors.Is; a *ConflictError is answered with 409.
var (
	ErrMalformed    = errors.New("malformed request")                             // 400
	ErrUnknownLog   = errors.New("unknown log")                                   // 404
	ErrBadSignature = errors.New("no valid signature from the log's key")         // 403
	ErrBadProof     = errors.New("consistency proof does not verify")             // 422
	ErrOldTooLarge  = errors.New("old size is larger than the checkpoint's size") // 400
)

// ConflictError is the answer to a request whose old size is not the size of the last
// checkpoint the witness cosigned for the log, or whose checkpoint has that size but
// another root hash (a split view). Size is the witness's size.
type ConflictError struct {
	Size uint64
	Fork bool // same size, different root hash
}

func (e *ConflictError) Error() string {
	if e.Fork {
		return fmt.Sprintf("the witness cosigned another root hash at tree size %d", e.Size)
	}
	return fmt.Sprintf("the witness's last cosigned tree size is %d", e.Size)
}

// Options configure a Witness.
type Options struct {
	Dir string
	// Name names the cosigner key created on first use of Dir (ignored afterwards); empty
	// means "ipledger-witness-" and a random suffix.
	Name string
	// Logs maps each log origin the witness follows to the note verifier key of the log's
	// signatures.
	Logs     map[string]string
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil registers no metrics
}

// Witness cosigns checkpoints. It is safe for concurrent use; Close releases its
// directory.
type Witness struct {
	dir    string
	signer *Signer
	logs   map[string]note.Verifier
	log    *slog.Logger
	unlock func() error

	// mu makes each request's check of the old size and the write of the new state one
	// step (C2SP tlog-witness: otherwise two requests can roll a log back).
	mu    sync.Mutex
	state map[string]tlogfmt.Checkpoint // last cosigned per origin

	requests *prometheus.CounterVec
	size     *prometheus.GaugeVec
}

// Open opens (creating if needed) the witness directory: its key, and the last cosigned
// checkpoint of every configured log.
func Open(o Options) (*Witness, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Logs) == 0 {
		return nil, errors.New("open witness: no logs to follow")
	}
	signer, err := LoadOrCreateKey(o.Dir, o.Name)
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	w := &Witness{dir: o.Dir, signer: signer, logs: map[string]note.Verifier{}, log: o.Logger, unlock: unlock,
		state: map[string]tlogfmt.Checkpoint{}}
	w.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_witness_requests_total",
		Help: "add-checkpoint requests, by result."}, []string{"result"})
	w.size = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ipledger_witness_log_size",
		Help: "Tree size of the last checkpoint cosigned, by log origin."}, []string{"origin"})
	if err := os.MkdirAll(filepath.Join(o.Dir, "logs"), 0o700); err != nil {
		unlock()
		return nil, fmt.Errorf("open witness: %w", err)
	}
	for origin, vkey := range o.Logs {
		v, err := note.NewVerifier(vkey)
		if err == nil && v.Name() == "" {
			err = errors.New("empty key name")
		}
		if err != nil {
			unlock()
			return nil, fmt.Errorf("open witness: key of log %q: %w", origin, err)
		}
		w.logs[origin] = v
		cp, ok, err := w.load(origin)
		if err != nil {
			unlock()
			return nil, err
		}
		if ok {
			w.state[origin] = cp
			w.size.WithLabelValues(origin).Set(float64(cp.Size))
		}
	}
	if o.Registry != nil {
		if err := errors.Join(o.Registry.Register(w.requests), o.Registry.Register(w.size)); err != nil {
			unlock()
			return nil, fmt.Errorf("open witness: metrics: %w", err)
		}
	}
	return w, nil
}

// Close releases the witness directory.
func (w *Witness) Close() error { return w.unlock() }

// VerifierKey returns the witness's cosignature/v1 verifier key.
func (w *Witness) VerifierKey() string { return w.signer.VerifierKey() }

// Size returns the tree size of the last checkpoint cosigned for origin (0 if none).
func (w *Witness) Size(origin string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[origin].Size
}

// AddCheckpoint checks a request as C2SP tlog-witness's add-checkpoint says and, if it
// passes, records the checkpoint and returns the witness's cosignature lines. Errors are
// ErrMalformed, ErrUnknownLog, ErrBadSignature, ErrOldTooLarge, ErrBadProof (check with
// errors.Is), a *ConflictError, or a storage failure.
func (w *Witness) AddCheckpoint(r AddCheckpointRequest) ([]byte, error) {
	origin, _, ok := bytes.Cut(r.Checkpoint, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: the checkpoint has no origin line", ErrMalformed)
	}
	v, ok := w.logs[string(origin)]
	if !ok {
		return nil, fmt.Errorf("%w %.100q", ErrUnknownLog, origin)
	}
	n, err := note.Open(r.Checkpoint, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified) || errors.As(err, &invalid):
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	case err != nil:
		return nil, fmt.Errorf("%w: checkpoint note: %w", ErrMalformed, err)
	}
	var cp tlogfmt.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if cp.Origin != string(origin) {
		return nil, fmt.Errorf("%w: origin %.100q in a note about %.100q", ErrMalformed, cp.Origin, origin)
	}
	if len(cp.Hash) != hashSize {
		return nil, fmt.Errorf("%w: root hash of %d bytes", ErrMalformed, len(cp.Hash))
	}
	if r.OldSize > cp.Size {
		return nil, fmt.Errorf("%w: old size %d, checkpoint size %d", ErrOldTooLarge, r.OldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.state[cp.Origin] // zero: never cosigned, size 0
	if r.OldSize != last.Size {
		return nil, &ConflictError{Size: last.Size}
	}
	switch {
	case r.OldSize == 0 && len(r.Proof) > 0:
		return nil, fmt.Errorf("%w: the proof from size 0 must be empty", ErrBadProof)
	case last.Size == cp.Size && last.Size > 0:
		// The same tree again: its root must be the one cosigned (a proof, if any, is
		// pointless and must be empty).
		if !bytes.Equal(last.Hash, cp.Hash) {
			w.log.Warn("split view: a checkpoint with another root at a cosigned size", "origin", cp.Origin, "size", cp.Size,
				"cosigned_root", hex.EncodeToString(last.Hash), "offered_root", hex.EncodeToString(cp.Hash))
			return nil, &ConflictError{Size: last.Size, Fork: true}
		}
		if len(r.Proof) > 0 {
			return nil, fmt.Errorf("%w: the proof between equal sizes must be empty", ErrBadProof)
		}
	case last.Size > 0:
		if err := tlog.VerifyConsistency(last.Size, cp.Size, r.Proof, last.Hash, cp.Hash); err != nil {
			// Signed by the log yet not an extension of what it showed before: evidence
			// of misbehaviour, so it is logged with the checkpoint.
			w.log.Warn("checkpoint is not an extension of the last cosigned one", "origin", cp.Origin,
				"cosigned_size", last.Size, "size", cp.Size, "err", err, "checkpoint", string(r.Checkpoint))
			return nil, fmt.Errorf("%w: from %d to %d: %w", ErrBadProof, last.Size, cp.Size, err)
		}
	}
	sig, err := w.signer.Sign([]byte(n.Text))
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	if last.Size != cp.Size || last.Size == 0 {
		if err := w.store(cp.Origin, r.Checkpoint); err != nil {
			return nil, err
		}
		w.state[cp.Origin] = cp
		w.size.WithLabelValues(cp.Origin).Set(float64(cp.Size))
		if last.Size == 0 {
			w.log.Info("first checkpoint cosigned", "origin", cp.Origin, "size", cp.Size)
		} else {
			w.log.Debug("checkpoint cosigned", "origin", cp.Origin, "size", cp.Size, "old", last.Size)
		}
	}
	return []byte(FormatSignatureLine(note.Signature{Name: w.signer.Name(), Hash: w.signer.KeyHash(),
		Base64: encodeSig(w.signer.KeyHash(), sig)})), nil
}

// maxBody bounds an add-checkpoint body: 63 proof lines and a checkpoint with its
// signatures come to a few KiB.
const maxBody = 64 << 10

// Handler serves POST /add-checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.serveAddCheckpoint)
	return mux
}

func (w *Witness) serveAddCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBody))
	if err != nil {
		w.answer(rw, http.StatusBadRequest, "bad_request", fmt.Sprintf("read body: %v\n", err))
		return
	}
	req, err := ParseAddCheckpoint(body)
	if err != nil {
		w.answer(rw, http.StatusBadRequest, "bad_request", err.Error()+"\n")
		return
	}
	sigs, err := w.AddCheckpoint(req)
	var conflict *ConflictError
	switch {
	case err == nil:
		w.answer(rw, http.StatusOK, "cosigned", string(sigs))
	case errors.As(err, &conflict):
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		result := "conflict"
		if conflict.Fork {
			result = "split_view"
		}
		w.requests.WithLabelValues(result).Inc()
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict.Size)
	case errors.Is(err, ErrUnknownLog):
		w.answer(rw, http.StatusNotFound, "unknown_log", err.Error()+"\n")
	case errors.Is(err, ErrBadSignature):
		w.answer(rw, http.StatusForbidden, "bad_signature", err.Error()+"\n")
	case errors.Is(err, ErrBadProof):
		w.answer(rw, http.StatusUnprocessableEntity, "bad_proof", err.Error()+"\n")
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrOldTooLarge):
		w.answer(rw, http.StatusBadRequest, "bad_request", err.Error()+"\n")
	default:
		w.log.Error("add-checkpoint", "err", err)
		w.answer(rw, http.StatusInternalServerError, "error", "internal error\n")
	}
}

func (w *Witness) answer(rw http.ResponseWriter, status int, result, body string) {
	w.requests.WithLabelValues(result).Inc()
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(status)
	io.WriteString(rw, body)
}

// statePath is the file holding the last checkpoint cosigned for origin.
func (w *Witness) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(w.dir, "logs", hex.EncodeToString(h[:]))
}

// load reads the last checkpoint cosigned for origin. The file is the witness's own
// record, written after the checkpoint verified, so only its text is read: what binds
// the witness is consistency with what it cosigned, whatever key signs the log today.
func (w *Witness) load(origin string) (tlogfmt.Checkpoint, bool, error) {
	var cp tlogfmt.Checkpoint
	b, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, os.ErrNotExist) {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("open witness: state of %q: %w", origin, err)
	}
	text, err := noteText(b)
	if err == nil {
		_, err = cp.Unmarshal(text)
	}
	if err == nil && (cp.Origin != origin || len(cp.Hash) != hashSize) {
		err = fmt.Errorf("it holds a checkpoint of %q", cp.Origin)
	}
	if err != nil {
		return cp, false, fmt.Errorf("open witness: state of %q in %s: %w", origin, w.statePath(origin), err)
	}
	return cp, true, nil
}

// store replaces the state of origin with the checkpoint note, durably: a temporary file
// synced, renamed over the old one, then the directory synced.
func (w *Witness) store(origin string, checkpoint []byte) error {
	if err := writeFileAtomic(w.statePath(origin), checkpoint); err != nil {
		return fmt.Errorf("store checkpoint of %q: %w", origin, err)
	}
	return nil
}

// noteText returns the text of a signed note: everything up to the blank line before the
// signatures.
func noteText(b []byte) ([]byte, error) {
	i := bytes.LastIndex(b, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("not a signed note")
	}
	return b[:i+1], nil
}

// ParseLogFlag parses ORIGIN=VKEY: a log origin and the note verifier key of its
// signatures. The key is after the last '=' that is not base64 padding, so an origin may
// contain '=' but a key name may not.
func ParseLogFlag(s string) (origin, vkey string, err error) {
	i := strings.LastIndex(strings.TrimRight(s, "="), "=")
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("log %q: want ORIGIN=VKEY", s)
	}
	origin, vkey = s[:i], s[i+1:]
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", "", fmt.Errorf("log %q: verifier key: %w", origin, err)
	}
	return origin, vkey, nil
}

// encodeSig is the base64 of a note signature: key ID ‖ signature.
func encodeSig(hash uint32, sig []byte) string {
	return base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, hash), sig...))
}
