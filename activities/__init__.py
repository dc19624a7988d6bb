"""Every side effect of a turn lives here: database, model streaming, tools, notifications."""
