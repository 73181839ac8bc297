"""What every feature shares: errors, settings, storage, HTTP mapping, AWS clients. Imports no feature."""
