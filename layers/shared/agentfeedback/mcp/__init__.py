"""The MCP server: read-only tools over the review API for AI assistants (Lambda over HTTP, or stdio from the CLI).

Its modules import the MCP SDK, which ships with the `mcp` function (functions/mcp/requirements.txt) and the CLI,
not in the shared layer: only those import this package.
"""
