"""ContentRegistry contract, Merkle anchoring and certificates (coming issue)."""
