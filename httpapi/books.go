package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// The class auctions' books in the JSON API (issue 16): the classes with open orders and
// each class's book by price, as JSON or, with ?format=csv, CSV.

func (s *server) mountBooks() {
	s.handle("GET /v1/market/books", s.books)
	s.handle("GET /v1/market/books/{class}", s.book)
}

// bookListColumns and bookColumns are the CSV header rows.
var (
	bookListColumns = []string{"class", "asks", "bids", "blocks_bid", "best_ask", "best_bid"}
	bookColumns     = []string{"side", "price", "orders", "blocks"}
)

// books serves GET /v1/market/books.
func (s *server) books(w http.ResponseWriter, r *http.Request) error {
	_, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	snap := s.app.Committed()
	books, err := ledger.AuctionBooks(snap.State)
	if err != nil {
		return fmt.Errorf("list books: %w", err)
	}
	out := apitypes.BookList{Height: snap.Height, Books: books}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(books))
	for _, b := range books {
		rows = append(rows, []string{b.Class, strconv.Itoa(b.Asks), strconv.Itoa(b.Bids), u(b.BlocksBid), u(b.BestAsk), u(b.BestBid)})
	}
	return s.writeCSV(w, bookListColumns, rows)
}

// book serves GET /v1/market/books/{class}, the class in its string form
// (ipledger.AuctionClass.String, e.g. ipv4-24-RIPE-NCC-NL-A or ipv4-24-any-any-A).
func (s *server) book(w http.ResponseWriter, r *http.Request) error {
	_, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	c, err := ipledger.ParseAuctionClass(r.PathValue("class"))
	if err != nil {
		return invalid("%.200s", err)
	}
	snap := s.app.Committed()
	bk, err := ledger.AuctionBook(snap.State, c)
	if err != nil {
		return fmt.Errorf("book %s: %w", c, err)
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, apitypes.BookPage{Height: snap.Height, Book: *bk})
	}
	rows := make([][]string, 0, len(bk.Asks)+len(bk.Bids))
	for _, l := range bk.Asks {
		rows = append(rows, []string{"ask", u(l.Price), strconv.Itoa(l.Orders), u(l.Blocks)})
	}
	for _, l := range bk.Bids {
		rows = append(rows, []string{"bid", u(l.Price), strconv.Itoa(l.Orders), u(l.Blocks)})
	}
	return s.writeCSV(w, bookColumns, rows)
}
