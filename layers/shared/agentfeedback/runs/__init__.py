"""Agents (schemas, versions, environments) and their runs: running, recording, pricing."""
