"""The built-in model `offline`: deterministic answers with no AI provider, for demos, tests and local use.

Given an output schema it returns JSON valid against that schema; otherwise a short chat reply. Every
value derives from a hash of the conversation, the schema and the value's place in the document, so the
same input always gives the same output, and a changed input gives a visibly different one.

- `model`: `OfflineModel`, the provider the router builds for the `offline` route; derives the seed.
- `chat`: the plain chat reply.
- `schema_values`: `SchemaFaker`, one JSON value valid against a JSON Schema.
- `schema_refs`: `$ref` and `allOf` resolved into one plain schema before a value is made.
- `string_values`: strings for `format`s and free text within length limits.
- `pattern_text`: `PatternText`, a string matching a regular expression (`pattern`).
- `entropy`: the hash every choice draws from.
"""

from agentfeedback.providers.offline.model import OFFLINE_MODEL, OfflineModel

__all__ = ["OFFLINE_MODEL", "OfflineModel"]
