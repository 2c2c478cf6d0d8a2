package ipledger

// Transaction bodies, one per Kind. They travel as JSON inside the signed payload; unknown
// fields are rejected. Batched kinds (RegisterOrg, RegistryTransfer, Allocate, Assign) apply
// all items or none.

// MaxBatchItems bounds the items of one batched transaction.
const MaxBatchItems = 20000

// NewOrg describes an organisation a registry registers.
type NewOrg struct {
	Handle       string      `json:"handle"`
	Name         string      `json:"name"`
	Country      string      `json:"country,omitempty"`
	AbuseMailbox string      `json:"abuse_mailbox,omitempty"`
	Keys         []PublicKey `json:"keys,omitempty"`
	OpaqueID     string      `json:"opaque_id,omitempty"`
}

// RegisterOrgBody registers organisations under the signing registry.
type RegisterOrgBody struct {
	Orgs []NewOrg `json:"orgs"`
}

// BindKeyBody adds Key to Org; the signer must be Org's registry. It is how a registry hands
// a keyless (imported) record to its real holder.
type BindKeyBody struct {
	Org string    `json:"org"`
	Key PublicKey `json:"key"`
}

// RotateKeysBody adds and removes keys of Org, signed by Org itself. At least one key must
// remain.
type RotateKeysBody struct {
	Org    string      `json:"org"`
	Add    []PublicKey `json:"add,omitempty"`
	Remove []PublicKey `json:"remove,omitempty"`
}

// UpdateOrgBody changes the contact data of Org; empty fields stay as they are.
type UpdateOrgBody struct {
	Org          string `json:"org"`
	Name         string `json:"name,omitempty"`
	Country      string `json:"country,omitempty"`
	AbuseMailbox string `json:"abuse_mailbox,omitempty"`
}

// RegistryTransferItem moves pool space from one registry to another.
type RegistryTransferItem struct {
	Resource Resource `json:"resource"`
	From     string   `json:"from"`
	To       string   `json:"to"`
}

// RegistryTransferBody carries inter-registry transfers; each item's From and To registries
// must both sign.
type RegistryTransferBody struct {
	Items []RegistryTransferItem `json:"items"`
}

// AllocateItem gives Resource from the signing registry's pool to Org.
type AllocateItem struct {
	Resource   Resource `json:"resource"`
	Org        string   `json:"org"`
	Status     Status   `json:"status"`
	Country    string   `json:"country,omitempty"`
	Registered string   `json:"registered,omitempty"` // original date YYYY-MM-DD; block date if empty
}

// AllocateBody carries allocations from the signer's pools.
type AllocateBody struct {
	Items []AllocateItem `json:"items"`
}

// AssignBody carries assignments or sub-allocations inside holdings of the signer.
type AssignBody struct {
	Items []AllocateItem `json:"items"`
}

// TransferBody moves Resource (a whole holding or part of one) from the first signer to To,
// who signs second.
type TransferBody struct {
	Resource Resource `json:"resource"`
	To       string   `json:"to"`
}

// ReturnBody gives Resource (a whole holding or part of one) back to the parent holding.
type ReturnBody struct {
	Resource Resource `json:"resource"`
}
