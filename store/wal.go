package store

import "github.com/cockroachdb/pebble/v2/vfs"

// Pebble reserves disk space for a write-ahead log file ahead of writing it, 110 % of the
// memtable at a time (fallocate, keeping the file's size), and keeps old log files for
// reuse with their space. With 64 MiB memtables an empty chain's store took 211 MiB on
// disk for three log files holding 300 KB (`du`); the reservation spares each sync an
// update of the file's size, which a chain committing a block every 100 ms or more does not
// notice. Options.NoWALPreallocate turns it off with noPreallocFS.

// noPreallocFS is an FS whose files reserve no space ahead of their writes.
type noPreallocFS struct{ vfs.FS }

func (fs noPreallocFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return noPrealloc(fs.FS.Create(name, c))
}

func (fs noPreallocFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return noPrealloc(fs.FS.OpenReadWrite(name, c, opts...))
}

func (fs noPreallocFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return noPrealloc(fs.FS.ReuseForWrite(oldname, newname, c))
}

func noPrealloc(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return noPreallocFile{f}, nil
}

// noPreallocFile is a file whose Preallocate does nothing, as on a filesystem without
// fallocate: writes past the end allocate as they go.
type noPreallocFile struct{ vfs.File }

func (noPreallocFile) Preallocate(offset, length int64) error { return nil }
