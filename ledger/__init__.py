"""Double-entry ledger for points, XP and reward stock (coming issue)."""
