"""The upstream side: one unit per OBS interface, the HTTP transport, and the token lifecycle."""
