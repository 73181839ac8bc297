"""API-key authorizer (TOKEN type): `Authorization: Bearer <key>` -> the key's tenant, or 401."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition

logger = Logger()


def _bearer_key(header: str | None) -> str | None:
    scheme, _, key = (header or "").strip().partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def _whole_api(method_arn: str) -> str:
    # API Gateway caches the decision per key, so it must cover every route of the stage, not just this one.
    api_and_stage = "/".join(method_arn.split("/")[:2])
    return f"{api_and_stage}/*"


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key = _bearer_key(event.get("authorizationToken"))
    record = composition.api_key_store().lookup(key) if key else None
    if record is None or not record.active:
        # Logged without the key itself: only whether one was sent.
        logger.info("API key refused", extra={"key_sent": key is not None, "revoked": bool(record)})
        # API Gateway answers 401 for exactly this message.
        raise Exception("Unauthorized")
    return {
        "principalId": record.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": _whole_api(event["methodArn"])}
            ],
        },
        "context": {"tenant": record.tenant, "key_id": record.key_id},
    }
