"""Feedback tokens: `fb_` + a compact ES256 JWS bound to one run, rooted in the stack's KMS key.

- `claims`: what a token says (tenant, agent, run, version, the optional end-user binding `usr`, `iat`,
  `exp`) and its JWT payload.
- `delegation`: a P-256 key made in memory by a run or chat container, certified once by KMS (`Sign`) for an
  hour; tokens are signed with it and carry the compact delegation (ARCHITECTURE.md has the threat model).
- `signer`: `TokenSigner` (run and chat functions, which hold `kms:Sign`).
- `verifier`: `TokenVerifier` (the public feedback function: local checks only, KMS public keys cached).
- `jws`, `kms_keys`: base64url and ECDSA signature forms; fetching and naming KMS public keys.

PyJWT and cryptography load on the first signature or verification, never at import: the functions that only
name claims or limits (review) never pay for them, and the feedback function's cold start stays lean.
"""

from agentfeedback.tokens.claims import MAX_TOKEN_CHARS, TOKEN_PREFIX, TokenClaims, binds_user, user_binding

__all__ = ["MAX_TOKEN_CHARS", "TOKEN_PREFIX", "TokenClaims", "binds_user", "user_binding"]
