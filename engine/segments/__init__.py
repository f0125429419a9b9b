"""Behavioural tags (active trader, dormant, new, high level), computed where trading and the
ledger are both in sight and stored for ``core.segments`` to target."""
