package ipledgertest

import "errors"

// ErrDisk is the error of the zero FailKV: a read error of a broken disk.
var ErrDisk = errors.New("read sector 7: input/output error")

// FailKV is an ipledger.KV whose every read and write fails with Err, ErrDisk when Err is
// nil, as a broken disk's would: for the paths that must turn a store failure into an
// internal error, a logged cause or a halt.
type FailKV struct{ Err error }

func (f FailKV) err() error {
	if f.Err == nil {
		return ErrDisk
	}
	return f.Err
}

// Get fails.
func (f FailKV) Get([]byte) ([]byte, error) { return nil, f.err() }

// Set fails.
func (f FailKV) Set(_, _ []byte) error { return f.err() }

// Delete fails.
func (f FailKV) Delete([]byte) error { return f.err() }

// Iterate fails without calling fn.
func (f FailKV) Iterate(_, _ []byte, _ bool, _ func(k, v []byte) bool) error { return f.err() }
