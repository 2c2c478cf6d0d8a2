package httpapi

import "github.com/ipledger/ipledger/apitypes"

// The response bodies of the JSON API are package apitypes' (the client reads them without
// linking the server); httpapi's handlers name them as before. The status and block
// endpoints answer with ipledger.NodeStatus and ipledger.BlockRecord as they are.
type (
	BalanceInfo     = apitypes.BalanceInfo
	LeaseInfo       = apitypes.LeaseInfo
	LeaseList       = apitypes.LeaseList
	RouteList       = apitypes.RouteList
	RouteInfo       = apitypes.RouteInfo
	ErrorBody       = apitypes.ErrorBody
	SubmitRequest   = apitypes.SubmitRequest
	SubmitResult    = apitypes.SubmitResult
	Outcome         = apitypes.Outcome
	TxInfo          = apitypes.TxInfo
	TxSigner        = apitypes.TxSigner
	HoldingInfo     = apitypes.HoldingInfo
	HistoryItem     = apitypes.HistoryItem
	ResourceInfo    = apitypes.ResourceInfo
	OrgInfo         = apitypes.OrgInfo
	OrgList         = apitypes.OrgList
	InclusionInfo   = apitypes.InclusionInfo
	ConsistencyInfo = apitypes.ConsistencyInfo
)
