"""Mints feedback tokens with a delegated key: one KMS `Sign` per container and hour, none per token."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agentfeedback.core.errors import ServiceUnavailable
from agentfeedback.tokens.claims import TokenClaims, claims_payload

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from mypy_boto3_kms import KMSClient

    from agentfeedback.tokens.delegation import DelegatedKey

logger = logging.getLogger(__name__)


class TokenSigner:
    """Signs tokens with a P-256 key made in this container and delegated by the KMS key (tokens.delegation).

    The first token asks KMS for the public key (its fingerprint is the `kid`) and a delegation (one `Sign`);
    the delegation is renewed RENEW_BEFORE_SECONDS before it ends. When KMS cannot renew it, tokens go on being
    signed with the current key until its delegation ends, and KMS is asked again at most every
    RETRY_SECONDS meanwhile (each try can cost a run botocore's retries); with no delegation left, `mint` raises
    ServiceUnavailable, and every run asks KMS until it answers, as a run did before delegation. Only the run and
    chat functions hold `kms:Sign`.
    """

    RENEW_BEFORE_SECONDS = 300
    RETRY_SECONDS = 30

    def __init__(
        self,
        kms: KMSClient,
        key_id: str,
        lifetime_days: int,
        stack: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kms = kms
        self._key_id = key_id
        self._lifetime_seconds = lifetime_days * 86400
        self._stack = stack
        self._clock = clock
        self._kms_public_key: ec.EllipticCurvePublicKey | None = None
        self._key: DelegatedKey | None = None
        self._retry_at = 0

    def mint(self, claims: TokenClaims) -> str:
        """`fb_` + a compact ES256 JWS of the claims, `iat` = now and `exp` = now + lifetime (none if lifetime
        is 0). ServiceUnavailable when no delegation covers now and KMS cannot make one."""
        now = int(self._clock())
        return self._key_at(now).sign(claims_payload(claims, now, self._lifetime_seconds))

    def _key_at(self, now: int) -> DelegatedKey:
        key = self._key
        if key is not None and key.covers(now) and now < key.delegation.not_after - self.RENEW_BEFORE_SECONDS:
            return key
        usable = key if key is not None and key.covers(now) else None
        if usable is not None and now < self._retry_at:
            return usable
        try:
            self._key = self._delegate(now)
        except ServiceUnavailable:
            if usable is None:
                raise
            self._retry_at = now + self.RETRY_SECONDS
            logger.warning(
                "token key delegation not renewed: signing with the current one until it ends",
                extra={"not_after": usable.delegation.not_after},
            )
            return usable
        return self._key

    def _delegate(self, now: int) -> DelegatedKey:
        from agentfeedback.tokens.delegation import DelegatedKey
        from agentfeedback.tokens.kms_keys import fetch_public_key

        if self._kms_public_key is None:
            self._kms_public_key = fetch_public_key(self._kms, self._key_id)
        return DelegatedKey.create(
            self._kms,
            self._key_id,
            self._kms_public_key,
            stack=self._stack,
            now=now,
            token_lifetime=self._lifetime_seconds,
        )
