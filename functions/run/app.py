"""Agent routes (API key required): register and list agents, run one, save versions, bind and split
environments (promote a canary, roll back).

Runs answer without a web framework (agentfeedback.runs.http): a run's cold start loads no more than a run
needs. The other routes, and the OpenAPI document of all of them, come from Powertools' resolver
(agentfeedback.runs.routes), imported with the first request that needs it.
"""

from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.core.proxy_events import LazyResolver, when_done
from agentfeedback.core.streaming import StreamedResponse, buffered
from agentfeedback.runs.http import RunApi
from agentfeedback.runs.models import PartialRun, RunRequest, RunResponse

logger = Logger()
metrics = Metrics()


def run(owner: str, agent_id: str, schema_id: int, body: RunRequest, deadline: float) -> RunResponse:
    return composition.agent_runner().run(owner, agent_id, schema_id, body, composition.run_deadline(deadline))


def stream(
    owner: str, agent_id: str, schema_id: int, body: RunRequest, deadline: float
) -> Iterator[PartialRun | RunResponse]:
    """The run's events as the model's deltas come (AgentRunner.stream: pre-checks raise here, at the call)."""
    return composition.agent_runner().stream(owner, agent_id, schema_id, body, composition.run_deadline(deadline))


runs = RunApi(run, stream, logger)


def _resolver() -> Any:
    from agentfeedback.runs.routes import run_function_resolver

    return run_function_resolver(composition.agent_registry, runs, logger)


# Builds nothing yet: Powertools and the routes' models load with the first request a run route does not take.
app = LazyResolver(_resolver)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | StreamedResponse:
    """The response whole (a dict), or streamed (stream: true); metrics are flushed once it is complete."""
    if runs.path_parameters(event) is not None:
        return when_done(runs.resolve(event, context), metrics.flush_metrics)
    return when_done(app.resolve(event, context), metrics.flush_metrics)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return buffered(handle(event, context))
