"""The cold-start floor of a feedback endpoint (bench/cold_start.py runs it as a function of its own).

The least any handler must do to save one vote: check the token's key delegation against the token key's
public half (as PEM in MINIMAL_PUBLIC_KEY_PEM: a minimal handler would not ask KMS) with the layer's
agentfeedback.tokens.delegation, verify the ES256 feedback token with PyJWT and cryptography against the
delegated key, then send one `update_item` to the feedback table. No framework, no validation beyond the
token, no metrics or logs: a floor to compare the real function with, not a handler to deploy.
"""

import json
import os

import boto3
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from agentfeedback.tokens.delegation import Delegation

dynamodb = boto3.client("dynamodb")
public_key = load_pem_public_key(os.environ["MINIMAL_PUBLIC_KEY_PEM"].encode("ascii"))
table = os.environ["FEEDBACK_TABLE"]
stack = os.environ["STACK_NAME"]


def lambda_handler(event, context):
    body = json.loads(event["body"])
    token = body["feedback_token"].removeprefix("fb_")
    delegated_key = Delegation.decode(jwt.get_unverified_header(token)["dlg"]).verified_key(public_key, stack)
    claims = jwt.decode(token, delegated_key, algorithms=["ES256"])
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": f"{claims['run']}#{body.get('user_id') or ''}"}},
        UpdateExpression="SET outcome = :outcome",
        ExpressionAttributeValues={":outcome": {"S": body["outcome"]}},
    )
    return {"statusCode": 200, "body": json.dumps({"outcome": body["outcome"]})}
