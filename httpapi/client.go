package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
)

// maxResponse bounds the body the client reads.
const maxResponse = 64 << 20

// Client calls a node's JSON API. Base is the node's HTTP base URL, e.g.
// "http://127.0.0.1:8080"; HTTP nil means http.DefaultClient. Errors the API answers come
// back as *ipledger.Error with the server's code (test with ipledger.ErrorCode); transport
// failures come back wrapped as they are.
type Client struct {
	Base string
	HTTP *http.Client
}

// Status returns GET /v1/status.
func (c *Client) Status(ctx context.Context) (ipledger.NodeStatus, error) {
	var st ipledger.NodeStatus
	err := c.get(ctx, "/v1/status", nil, &st)
	return st, err
}

// Submit posts an encoded transaction. Without wait it returns once CheckTx admitted it;
// with wait it returns once the transaction is committed, with its Outcome (whose Code may
// be a rejection: the transaction is committed but changed nothing). If the node's wait
// runs out first, the result has the hash only (Committed reports false): ask Tx later.
// A CheckTx rejection is an *ipledger.Error with its code.
func (c *Client) Submit(ctx context.Context, tx []byte, wait bool) (SubmitResult, error) {
	var q url.Values
	if wait {
		q = url.Values{"wait": {"commit"}}
	}
	var res SubmitResult
	err := c.do(ctx, http.MethodPost, "/v1/tx", q, "application/octet-stream", tx, &res)
	return res, err
}

// Tx returns GET /v1/tx/{hash}; a transaction not committed is CodeNotFound.
func (c *Client) Tx(ctx context.Context, hash string) (*TxInfo, error) {
	var info TxInfo
	if err := c.get(ctx, "/v1/tx/"+hash, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Org returns GET /v1/orgs/{handle}.
func (c *Client) Org(ctx context.Context, handle string) (*OrgInfo, error) {
	return c.OrgPage(ctx, handle, "")
}

// OrgPage returns GET /v1/orgs/{handle} with its history from just after historyAfter
// (the HistoryNext of the previous answer; "" from the start).
func (c *Client) OrgPage(ctx context.Context, handle, historyAfter string) (*OrgInfo, error) {
	var info OrgInfo
	if err := c.get(ctx, "/v1/orgs/"+handle, Page{HistoryAfter: historyAfter}.query(), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Orgs returns GET /v1/orgs: handles with prefix after the handle after ("" from the
// start), at most limit (0 means the server's default, 100).
func (c *Client) Orgs(ctx context.Context, prefix, after string, limit int) (*OrgList, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var list OrgList
	if err := c.get(ctx, "/v1/orgs", q, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// Resource returns GET /v1/resources/{res}: res is anything ipledger.ParseResource reads
// ("193.0.0.1", "193.0.0.0/16", "AS3333", "2001:db8::/32"). Its lists are the first
// pages; ResourcePage asks for later ones.
func (c *Client) Resource(ctx context.Context, res string) (*ResourceInfo, error) {
	return c.ResourcePage(ctx, res, Page{})
}

// Page says where the lists of a resource, holding or organisation answer resume: the
// ChildrenNext and HistoryNext of the previous answer ("" from the start).
type Page struct {
	ChildrenAfter string
	HistoryAfter  string
}

func (p Page) query() url.Values {
	q := url.Values{}
	if p.ChildrenAfter != "" {
		q.Set("children_after", p.ChildrenAfter)
	}
	if p.HistoryAfter != "" {
		q.Set("history_after", p.HistoryAfter)
	}
	return q
}

// ResourcePage returns GET /v1/resources/{res} with its children and history from p.
func (c *Client) ResourcePage(ctx context.Context, res string, p Page) (*ResourceInfo, error) {
	var info ResourceInfo
	if err := c.get(ctx, "/v1/resources/"+res, p.query(), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Holding returns GET /v1/holdings/{id}: id is a number or a handle like "IPL-H42".
func (c *Client) Holding(ctx context.Context, id string) (*ResourceInfo, error) {
	return c.HoldingPage(ctx, id, Page{})
}

// HoldingPage returns GET /v1/holdings/{id} with its children and history from p.
func (c *Client) HoldingPage(ctx context.Context, id string, p Page) (*ResourceInfo, error) {
	var info ResourceInfo
	if err := c.get(ctx, "/v1/holdings/"+id, p.query(), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Block returns GET /v1/blocks/{height}; height 0 means the latest block.
func (c *Client) Block(ctx context.Context, height int64) (*ipledger.BlockRecord, error) {
	p := "/v1/blocks/latest"
	if height != 0 {
		p = "/v1/blocks/" + strconv.FormatInt(height, 10)
	}
	var rec ipledger.BlockRecord
	if err := c.get(ctx, p, nil, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, "", nil, out)
}

// do sends one request. path is unescaped; whatever it holds (a resource's "/" and ":", a
// stray "%" or "?") reaches the server as path.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, out any) error {
	u := strings.TrimSuffix(c.Base, "/") + (&url.URL{Path: path}).EscapedPath()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	var b []byte
	var status int
	// A read refused as busy (the node bounds its expensive queries at once, not who may
	// ask) or over this client's rate limit is asked again after the Retry-After the node
	// gave, a few times.
	for attempt := 0; ; attempt++ {
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read response: %w", method, path, err)
		}
		status = resp.StatusCode
		if method != http.MethodGet || attempt == readRetries || !retryable(status, b) {
			break
		}
		wait := time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 && n <= 10 {
			wait = time.Duration(n) * time.Second
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-time.After(wait):
		}
	}
	if status < 200 || status > 299 {
		return apiError(status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// readRetries is how many times a GET refused as busy or rate-limited is asked again.
const readRetries = 3

// retryable reports whether an error answer is the query gate's 503 busy or a 429 over
// the client's rate limit: both go away by waiting.
func retryable(status int, body []byte) bool {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) != nil {
		return false
	}
	return status == http.StatusServiceUnavailable && eb.Code == ipledger.CodeBusy.String() ||
		status == http.StatusTooManyRequests && eb.Code == ipledger.CodeRateLimited.String()
}

// apiError turns an error response into an *ipledger.Error: the body's code when it is an
// ErrorBody, else a code fitting the HTTP status (a proxy's page, say).
func apiError(status int, body []byte) error {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Code != "" {
		if code, ok := ipledger.ParseCode(eb.Code); ok {
			return &ipledger.Error{Code: code, Message: eb.Message}
		}
	}
	// A halted node answers /v1/status with 503 and its status, which says why.
	var st struct {
		Halted     bool   `json:"halted"`
		HaltReason string `json:"halt_reason"`
	}
	if json.Unmarshal(body, &st) == nil && st.Halted {
		return &ipledger.Error{Code: ipledger.CodeUnavailable, Message: "node halted: " + st.HaltReason}
	}
	code := ipledger.CodeInvalid
	switch {
	case status == http.StatusNotFound:
		code = ipledger.CodeNotFound
	case status == http.StatusRequestEntityTooLarge:
		code = ipledger.CodeTooLarge
	case status == http.StatusTooManyRequests:
		code = ipledger.CodeMempoolFull
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		code = ipledger.CodeUnauthorized
	case status >= 500:
		code = ipledger.CodeInternal
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &ipledger.Error{Code: code, Message: fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), msg)}
}

// Balance returns an organisation's settlement credits.
func (c *Client) Balance(ctx context.Context, org string) (*BalanceInfo, error) {
	var out BalanceInfo
	if err := c.get(ctx, "/v1/balances/"+url.PathEscape(org), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Lease returns a lease and its history.
func (c *Client) Lease(ctx context.Context, id string) (*LeaseInfo, error) {
	var out LeaseInfo
	if err := c.get(ctx, "/v1/leases/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Leases lists running leases (all, with ended ones, when all is set), of org if not "".
func (c *Client) Leases(ctx context.Context, org string, all bool) (*LeaseList, error) {
	q := url.Values{}
	if org != "" {
		q.Set("org", org)
	}
	if all {
		q.Set("all", "true")
	}
	var out LeaseList
	if err := c.get(ctx, "/v1/leases", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Offers lists open lease offers, of org if not "".
func (c *Client) Offers(ctx context.Context, org string) (*LeaseList, error) {
	q := url.Values{}
	if org != "" {
		q.Set("org", org)
	}
	var out LeaseList
	if err := c.get(ctx, "/v1/offers", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Routes lists route authorisations, of org if not "".
func (c *Client) Routes(ctx context.Context, org string) (*RouteList, error) {
	q := url.Values{}
	if org != "" {
		q.Set("org", org)
	}
	var out RouteList
	if err := c.get(ctx, "/v1/routes", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
