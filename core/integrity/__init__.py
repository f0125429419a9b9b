"""Integrity facts about people behind accounts: device/IP sign-in signals and person links.

Every table here is keyed by ``user_id`` (rows cascade with the user), so erasing a member's
personal data is a delete per table.
"""
