"""Campaign guardrails and experiments: global budgets in points or reward items, per-member
frequency caps in the member's local calendar, sticky A/B assignment and measured lift."""
