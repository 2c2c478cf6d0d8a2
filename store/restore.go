package store

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// A state-sync restore writes a snapshot of another node's store into this one: the state
// through [Store.Working], the side tables through side batches, then [Store.Commit], which
// makes the snapshot's version this store's first. It is for an empty store only, so that
// nothing of an earlier history can mix with the snapshot's.
//
//	BeginRestore(h)            check the store is empty, clear stray side data
//	Working().Set(k, v) …      every state pair
//	NewSideBatch() …           the side data
//	WorkingHash()              must be the snapshot's state root
//	Commit()                   version h; or AbortRestore() to leave the store empty

// BeginRestore prepares the store for a restore of a snapshot taken at version: it fails
// unless no version has been committed, discards any uncommitted working change and deletes
// every side-table entry (what an interrupted restore may have left), and makes version
// the number the next Commit writes.
func (s *Store) BeginRestore(version int64) error {
	if err := s.usable(); err != nil {
		return fmt.Errorf("begin restore: %w", err)
	}
	if version < 1 {
		return fmt.Errorf("begin restore: version %d", version)
	}
	if v := s.Version(); v != 0 {
		return fmt.Errorf("begin restore: the store holds version %d already; a snapshot restores only into an empty store", v)
	}
	s.Rollback()
	if err := s.clearSide(); err != nil {
		return fmt.Errorf("begin restore: %w", err)
	}
	s.t.version = uint64(version)
	return nil
}

// AbortRestore undoes a restore that has not been committed: it discards the working state
// and deletes every side-table entry, leaving the store as empty as BeginRestore found it.
// It does nothing to a store that holds a committed version.
func (s *Store) AbortRestore() error {
	if s.Version() != 0 {
		return nil
	}
	s.Rollback()
	if err := s.clearSide(); err != nil {
		return fmt.Errorf("abort restore: %w", err)
	}
	return nil
}

// clearSide deletes the whole side space, durably.
func (s *Store) clearSide() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{spaceSide}, []byte{spaceSide + 1}, nil); err != nil {
		return fmt.Errorf("clear side tables: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("clear side tables: %w", err)
	}
	return nil
}
