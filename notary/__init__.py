"""Notary: contests' rules and results attested on chain (engine documents, contracts anchoring)."""
