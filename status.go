package ipledger

import "time"

// NodeStatus describes a node for /v1/status.
type NodeStatus struct {
	ChainID     string      `json:"chain_id"`
	Height      int64       `json:"height"`
	Time        time.Time   `json:"time"`
	AppHash     string      `json:"app_hash"`
	NodeID      string      `json:"node_id"`
	CatchingUp  bool        `json:"catching_up"`
	Validators  []Validator `json:"validators"`
	Peers       int         `json:"peers"`
	LogSize     uint64      `json:"log_size"`
	MempoolSize int         `json:"mempool_size"`
	// Halted means the node follows the chain no more (HaltReason says why) and is about
	// to exit; /v1/status answers 503 with this body.
	Halted     bool   `json:"halted"`
	HaltReason string `json:"halt_reason,omitempty"`
	// Refusing says why new transactions are refused ("free space 1.2 GiB below 2.0 GiB
	// on /home"); empty when they are taken.
	Refusing string `json:"refusing,omitempty"`
	// DiskFree is the free space of the node's home in bytes, as last seen.
	DiskFree uint64 `json:"disk_free"`
	// VRPs describes the route authorisations served over RTR and /v1/vrps.json; nil when
	// the node serves none. The node does not fill it in: the server that serves them does.
	VRPs *VRPStatus `json:"vrps,omitempty"`
}

// VRPStatus counts what the node serves to routers and says how its --vrps-file fares.
type VRPStatus struct {
	Served     int `json:"served"` // VRPs
	RouterKeys int `json:"router_keys"`
	ASPAs      int `json:"aspas"`
	// File is the --vrps-file path; empty without one, and then the fields below are zero.
	File string `json:"file,omitempty"`
	// FileServed counts the file's unexpired entries (VRPs, router keys, ASPAs);
	// DroppedExpired those dropped as expired, at the last read or since.
	FileServed     int `json:"file_served"`
	DroppedExpired int `json:"dropped_expired"`
	// FileRead is when the file was last read, FileBuildTime its metadata.buildtime.
	FileRead      time.Time `json:"file_read,omitzero"`
	FileBuildTime time.Time `json:"file_buildtime,omitzero"`
	// Error says why the file could not be read at the last attempt; what it held before
	// is still served.
	Error string `json:"error,omitempty"`
}

// Validator is one member of the consensus validator set, as /v1/status lists it.
type Validator struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Power   int64  `json:"power"`
}
