"""Domain code shared by every function: feedback tokens, feedback storage, HTTP error shape."""
