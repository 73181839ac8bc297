"""The MCP server (API key required): `POST /mcp`, Streamable HTTP, stateless, JSON responses.

Read-only tools over the review of the key's tenant (agentfeedback.mcp); the transport and the per-invocation
app are in agentfeedback.mcp.lambda_http.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition

logger = Logger()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return composition.mcp_endpoint().handle(event, context)
