package importer

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// MaxFileBytes bounds what is read of one delegated file, after decompression: 64 MiB,
// fifteen times the largest real file in the shared data (4.2 MB, 85,681 records). A
// compressed file that inflates past it (a decompression bomb) is refused with an error
// wrapping ErrTooLarge, after no more than this is read; so is a plain file past it. The
// bound is on memory too: 64 MiB of the shortest valid records, kept as Records, peak at
// about 1 GB.
const MaxFileBytes = 64 << 20

// maxFileBytes is MaxFileBytes, lowered by tests.
var maxFileBytes int64 = MaxFileBytes

// ErrTooLarge means a file is, or decompresses to, more than MaxFileBytes. Check for it with
// errors.Is.
var ErrTooLarge = errors.New("file too large")

// Magic bytes of the compressed forms (RFC 1952 §2.3.1 for gzip; bzip2's "BZh" and a block
// size digit) and of the forms refused with a hint.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXZ    = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicZip   = []byte("PK\x03\x04")
)

// decompress returns the text of br: br itself for a plain file, else a reader of its gzip
// or bzip2 content. The form is told by the first bytes, not by the name: a ".gz" a browser
// already inflated is read as text, and a gzip file without the suffix is inflated. comp is
// "gzip", "bzip2" or "" for plain text. xz, zstd and zip are refused with a hint.
func decompress(br *bufio.Reader) (r io.Reader, comp string, err error) {
	head, _ := br.Peek(len(magicXZ)) // shorter at the end of a short file; errors come on reading
	switch {
	case bytes.HasPrefix(head, magicGzip):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, "gzip", fmt.Errorf("gzip data: %w", err)
		}
		return z, "gzip", nil
	case bytes.HasPrefix(head, magicBzip2) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return bzip2.NewReader(br), "bzip2", nil
	case bytes.HasPrefix(head, magicXZ):
		return nil, "xz", errors.New("xz-compressed, which is not read here: decompress it (xz -d) or fetch the .gz or .bz2")
	case bytes.HasPrefix(head, magicZstd):
		return nil, "zstd", errors.New("zstd-compressed, which is not read here: decompress it (zstd -d) or fetch the .gz or .bz2")
	case bytes.HasPrefix(head, magicZip):
		return nil, "zip", errors.New("a zip archive, which is not read here: unzip it and import the files")
	}
	return br, "", nil
}

// boundedReader reads at most limit bytes of r and fails with ErrTooLarge if r has more.
// It names comp in the errors of a decompressor.
type boundedReader struct {
	r     io.Reader
	left  int64
	limit int64
	comp  string // "gzip", "bzip2" or "" for plain text
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: one more byte means the file is over it.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, b.tooLarge()
		}
		return 0, b.wrap(err)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, b.wrap(err)
}

func (b *boundedReader) tooLarge() error {
	if b.comp == "" {
		return fmt.Errorf("%w: over %s, the limit of one file", ErrTooLarge, sizeText(b.limit))
	}
	return fmt.Errorf("%w: %s data inflates to over %s, the limit of one file (a decompression bomb?)", ErrTooLarge, b.comp, sizeText(b.limit))
}

func (b *boundedReader) wrap(err error) error {
	if err == nil || err == io.EOF || b.comp == "" {
		return err
	}
	return fmt.Errorf("%s data: %w", b.comp, err)
}

// sizeText writes n bytes in MiB when it is a whole number of them.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
