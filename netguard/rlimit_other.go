//go:build !unix

package netguard

// RaiseFileLimit returns a nominal limit on systems without RLIMIT_NOFILE: handles are
// not a scarce per-process resource there in the same way.
func RaiseFileLimit() (int, error) { return 8192, nil }
