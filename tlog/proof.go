package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// NodeReader returns the hash of the perfect subtree at level covering leaves
// [index·2^level, (index+1)·2^level): a node that Tree.Append reported.
type NodeReader func(level uint, index uint64) ([]byte, error)

// InclusionProof returns the RFC 6962 / RFC 9162 inclusion proof of leaf index in the tree
// of the given size.
func InclusionProof(index, size uint64, read NodeReader) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	return fetch(nodes, read)
}

// ConsistencyProof returns the proof that the tree of size1 is a prefix of the tree of
// size2.
func ConsistencyProof(size1, size2 uint64, read NodeReader) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	return fetch(nodes, read)
}

func fetch(nodes proof.Nodes, read NodeReader) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := read(id.Level, id.Index)
		if err != nil {
			return nil, fmt.Errorf("read node %d/%d: %w", id.Level, id.Index, err)
		}
		if len(h) != 32 {
			return nil, fmt.Errorf("node %d/%d is missing", id.Level, id.Index)
		}
		hashes[i] = h
	}
	out, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("rehash proof: %w", err)
	}
	return out, nil
}

// VerifyInclusion checks that leafHash is leaf index of the tree of size with root.
func VerifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(hasher, index, size, leafHash, p, root)
}

// VerifyConsistency checks that the tree of size1 with root1 is a prefix of the tree of
// size2 with root2.
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(hasher, size1, size2, p, root1, root2)
}
