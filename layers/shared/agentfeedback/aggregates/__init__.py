"""Pre-aggregated counts per (tenant, agent, version, UTC day), kept from the tables' DynamoDB streams."""
