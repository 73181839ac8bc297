"""API keys: stored as hashes, each bound to one tenant."""
