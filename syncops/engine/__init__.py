"""The sync engine: scheduler, pollers, dispatchers, endpoint protection. Never imports Textual."""
