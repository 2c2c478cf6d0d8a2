package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger/tlog"
)

// StateFile is the name of the audit's state in its directory; the replay store is the
// directory ReplayDir beside it.
const (
	StateFile = "audit.json"
	ReplayDir = "replay"
)

// stateVersion is the format of audit.json this package writes.
const stateVersion = 1

// State is what an audit directory keeps between runs (audit.json): the chain it audits,
// the pinned log key, the last checkpoint seen, and how far the audit got. Height is the
// last height replayed into the replay store; Trusted is the last header verified, at
// Height or Height+1 (a header is verified one step ahead, for the app hash it carries).
// Compared counts the log leaves compared byte for byte with the node's log and Tree is
// the Merkle tree of those leaves, so the next run fetches only what follows.
type State struct {
	Version      int    `json:"version"`
	ChainID      string `json:"chain_id"`
	Genesis      string `json:"genesis_sha256"`
	LogKey       string `json:"log_key,omitempty"`
	LogKeySource string `json:"log_key_source,omitempty"`
	// Checkpoint is the last signed checkpoint seen, as the note the node served.
	Checkpoint string          `json:"checkpoint,omitempty"`
	Height     int64           `json:"height"`
	Trusted    json.RawMessage `json:"trusted_header,omitempty"`
	Compared   uint64          `json:"compared"`
	Tree       []byte          `json:"tree"`
	Updated    time.Time       `json:"updated"`

	trusted *types.SignedHeader
	tree    *tlog.Tree
}

// ParseState decodes and checks audit.json: known version, a chain id, a trusted header of
// that chain at Height or Height+1 (required once Height > 0), a log key that parses, and
// a tree state of exactly Compared leaves.
func ParseState(b []byte) (*State, error) {
	var s State
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("audit state: %w", err)
	}
	if d.More() {
		return nil, errors.New("audit state: trailing data")
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("audit state: version %d, want %d", s.Version, stateVersion)
	}
	if s.ChainID == "" || len(s.ChainID) > types.MaxChainIDLen {
		return nil, errors.New("audit state: bad chain id")
	}
	if s.Height < 0 {
		return nil, fmt.Errorf("audit state: height %d", s.Height)
	}
	if s.LogKey != "" {
		if _, err := note.NewVerifier(s.LogKey); err != nil {
			return nil, fmt.Errorf("audit state: log key: %w", err)
		}
	}
	if len(s.Trusted) > 0 {
		var sh types.SignedHeader
		if err := cmtjson.Unmarshal(s.Trusted, &sh); err != nil {
			return nil, fmt.Errorf("audit state: trusted header: %w", err)
		}
		if err := sh.ValidateBasic(s.ChainID); err != nil {
			return nil, fmt.Errorf("audit state: trusted header: %w", err)
		}
		if sh.Height != s.Height && sh.Height != s.Height+1 {
			return nil, fmt.Errorf("audit state: trusted header at %d for replayed height %d", sh.Height, s.Height)
		}
		s.trusted = &sh
	} else if s.Height > 0 {
		return nil, fmt.Errorf("audit state: replayed height %d without a trusted header", s.Height)
	}
	s.tree = tlog.New()
	if len(s.Tree) > 0 {
		t, err := tlog.Unmarshal(s.Tree)
		if err != nil {
			return nil, fmt.Errorf("audit state: %w", err)
		}
		s.tree = t
	}
	if s.tree.Size() != s.Compared {
		return nil, fmt.Errorf("audit state: tree of %d leaves for %d compared", s.tree.Size(), s.Compared)
	}
	return &s, nil
}

// LoadState reads dir/audit.json; it returns nil and no error if there is none.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit state: %w", err)
	}
	s, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// encode fills the serialised fields from the live ones and returns the JSON.
func (s *State) encode() ([]byte, error) {
	s.Version = stateVersion
	s.Trusted = nil
	if s.trusted != nil {
		b, err := cmtjson.Marshal(s.trusted)
		if err != nil {
			return nil, fmt.Errorf("encode trusted header: %w", err)
		}
		s.Trusted = b
	}
	if s.tree == nil {
		s.tree = tlog.New()
	}
	s.Tree, s.Compared = s.tree.Marshal(), s.tree.Size()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode audit state: %w", err)
	}
	return append(b, '\n'), nil
}

// save writes dir/audit.json through a temporary file and a rename, so a crash leaves the
// old state or the new one; sync also flushes it to disk.
func (s *State) save(dir string, sync bool) error {
	b, err := s.encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, StateFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("save audit state: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, StateFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save audit state: %w", err)
	}
	return nil
}

// saveInterval is how often a run records its progress. Each save first syncs the replay
// store, which holds up the replay for a tenth of a second or so.
const saveInterval = 10 * time.Second

// save writes the state: how far the replay got, the last verified header and the leaves
// compared so far, at most every saveInterval unless final.
func (r *run) save(final bool) error {
	if !final && time.Since(r.saved) < saveInterval {
		return nil
	}
	r.saved = time.Now()
	// audit.json must not claim a height the replay store could lose in a crash of the
	// machine: the store is written without fsync, so it is synced first.
	if err := r.replay.Sync(); err != nil {
		return fmt.Errorf("audit: replay store: %w", err)
	}
	// The replay store may be ahead of the headers verified in this run (it replayed
	// blocks in a run that stopped before recording them): the state never claims a
	// height beyond the trusted header, and the next run checks the rest again.
	r.st.Height = r.replay.App().Committed().Height
	if r.st.trusted != nil {
		r.st.Height = min(r.st.Height, r.st.trusted.Height)
	}
	r.st.Updated = time.Now().UTC()
	return r.st.save(r.a.o.Dir, final)
}
