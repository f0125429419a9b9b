"""The operator audit log: who did what to which subject, when, with its state before and after.

Append-only and hash-chained like the ledger (``core.hashchain``); database triggers refuse
UPDATE and DELETE except the retention purge of rows before the recorded cutoff.
``model`` holds the records and the pure chain verification, ``store`` the mappings,
``services`` the use cases (append, search, verify, purge).
"""
