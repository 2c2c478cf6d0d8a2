package web

import (
	"sync"

	"github.com/ipledger/ipledger"
)

// Two caches keep a busy explorer's pages cheap. A committed history entry's time, kind
// and result never change, but reading them costs a log leaf each (an import batch's is
// 64 KB): details keeps them. And a page is a function of the committed height and the
// request alone (the wallet's action forms aside), so pages keeps rendered ones until the
// next block: fifty readers of one page in one block cost one render.

// detailCache maps history positions to their filled rows.
type detailCache struct {
	mu sync.RWMutex
	m  map[ipledger.HistoryPos]historyRow
}

// maxDetails bounds the details kept; the cache starts over beyond it.
const maxDetails = 1 << 16

func (c *detailCache) get(p ipledger.HistoryPos) (historyRow, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.m[p]
	return r, ok
}

func (c *detailCache) put(r historyRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxDetails {
		c.m = map[ipledger.HistoryPos]historyRow{}
	}
	c.m[r.Pos()] = r
}

// pageCache holds the pages rendered at one height, by host and request URI.
type pageCache struct {
	mu     sync.Mutex
	height int64
	pages  map[string]cachedPage
	bytes  int
}

// cachedPage is a rendered page, or where a search sent its reader.
type cachedPage struct {
	body     []byte
	redirect string
}

// Bounds of the page cache: beyond either, pages of the height are rendered each time.
const (
	maxCachedPages = 512
	maxCachedBytes = 16 << 20
)

func pageKey(host, uri string) string { return host + " " + uri }

func (c *pageCache) get(height int64, key string) (cachedPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.height != height {
		return cachedPage{}, false
	}
	p, ok := c.pages[key]
	return p, ok
}

func (c *pageCache) put(height int64, key string, p cachedPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.height != height || c.pages == nil {
		if height < c.height {
			return // a render that read an older height than the cache's
		}
		c.height, c.pages, c.bytes = height, map[string]cachedPage{}, 0
	}
	n := len(key) + len(p.body) + len(p.redirect)
	if len(c.pages) >= maxCachedPages || c.bytes+n > maxCachedBytes {
		return
	}
	c.pages[key] = p
	c.bytes += n
}
