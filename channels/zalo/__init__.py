"""The Zalo Bot Platform adapter: its API client, its webhook events, the bot runtime
and the broadcast sender. Everything else is the shared channel layer."""
