"""Web helpers shared by both planes: rendering, errors, security, languages, admission."""
