//go:build unix

package netguard

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises RLIMIT_NOFILE's soft limit to the hard limit and returns the limit
// now in force. A limit that cannot be raised is kept and returned with the error.
func RaiseFileLimit() (int, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, fmt.Errorf("get file descriptor limit: %w", err)
	}
	if r.Cur < r.Max {
		want := r
		want.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return clampLimit(r.Cur), fmt.Errorf("raise file descriptor limit to %d: %w", r.Max, err)
		}
		r = want
	}
	return clampLimit(r.Cur), nil
}

// clampLimit keeps an unlimited or huge limit within int and within what caps sensibly use.
func clampLimit(v uint64) int {
	const most = 1 << 20
	if v > most {
		return most
	}
	return int(v)
}
