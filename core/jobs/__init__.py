"""Scheduled jobs: due windows, their claims in ``job_runs``, and the runner (see model)."""
