"""Users and roles: members, operators and authors."""
