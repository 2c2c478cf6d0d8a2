package apitypes

import "github.com/ipledger/ipledger"

// BookList answers GET /v1/market/books: every class with an open ask or bid, in class
// order.
type BookList struct {
	Height int64                  `json:"height"`
	Books  []ipledger.BookSummary `json:"books"`
}

// BookPage answers GET /v1/market/books/{class}: the class's open orders aggregated by
// price.
type BookPage struct {
	Height int64 `json:"height"`
	ipledger.Book
}
