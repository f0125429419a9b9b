"""Operator analytics, live: participation, weekly retention, the engagement funnel, points
liability and reward cost, over an optional population (a segment's members).

``model`` holds the pure computations, ``store`` the SQL aggregation (GROUP BY on the database,
never a loop over every member in Python), ``services`` the read-only use cases.
"""
