"""Connected accounts: one end user's credentials for one connection (SPEC §6)."""
