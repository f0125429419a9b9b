"""Content proofs: the ContentRegistry contract, Merkle-batched anchoring, certificates."""
