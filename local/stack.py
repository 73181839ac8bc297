"""The whole system on this machine: `python -m local.stack` (what `make local` runs), or `LocalStack` in tests.

DynamoDB Local and moto's KMS stand in for AWS; the template's functions run in this process behind a
thin API gateway whose routes, tables, keys and environment all come from template.yaml.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from local.api_gateway import ApiGateway
from local.dynamodb_local import DynamoDBLocal
from local.http_server import GatewayServer
from local.kms_server import MotoKms
from local.lambda_runtime import LocalFunctions
from local.openapi import merged_openapi
from local.stack_state import LOCAL_DIR, STATE_FILE, StackNotRunning, read_state, remove_state, write_state
from local.startup import StartupError
from local.streams import StreamPoller, event_source_mappings, streams_client
from local.tables import create_missing_tables
from local.template import (
    TEMPLATE_PATH,
    Resolver,
    TemplateError,
    function_environment,
    functions,
    load_template,
    references_resources,
    resources_of_type,
    table_definitions,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

logger = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs built here match the ones moto returns
# Set while the stack runs, so that nothing the handlers do can reach a real AWS account.
_AWS_VARIABLES_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


class LocalStack:
    """DynamoDB Local + moto KMS + the gateway. Use as a context manager; one per process at a time.

    `persist_dir` keeps tables and token keys across restarts (None: in memory, fresh every time).
    `environment_overrides` replaces function environment variables that come from template
    parameters (e.g. ALLOWED_ORIGINS), never those naming a resource (tables, keys).
    """

    _active: ClassVar[LocalStack | None] = None

    def __init__(
        self,
        port: int = 0,
        persist_dir: Path | None = None,
        template_path: Path = TEMPLATE_PATH,
        environment_overrides: Mapping[str, str] | None = None,
        state_file: Path | None = None,
        access_log: bool = False,
    ) -> None:
        self._port = port
        self._persist_dir = persist_dir
        self._template_path = template_path
        self._overrides = dict(environment_overrides or {})
        self._state_file = state_file
        self._access_log = access_log
        self._template: dict[str, Any] = {}
        self._temp_dir: tempfile.TemporaryDirectory[str] | None = None
        self._dynamodb: DynamoDBLocal | None = None
        self._kms: MotoKms | None = None
        self._functions: LocalFunctions | None = None
        self._gateway: ApiGateway | None = None
        self._server: GatewayServer | None = None
        self._streams: StreamPoller | None = None
        # Local values of !Ref and !GetAtt, filled in as the resources are created.
        self._refs: dict[str, Any] = {}
        self._attributes: dict[str, Any] = {}
        self._saved_environment: dict[str, str | None] = {}
        self.table_names: dict[str, str] = {}
        self.key_arns: dict[str, str] = {}
        self.environment: dict[str, str] = {}
        self.warnings: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        if LocalStack._active is not None:
            raise StartupError("a LocalStack is already running in this process (they share os.environ): stop it first")
        LocalStack._active = self
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._template = load_template(self._template_path)
        if self._persist_dir is None:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="local-stack-")
            work_dir = Path(self._temp_dir.name)
        else:
            work_dir = self._persist_dir
        self._dynamodb = DynamoDBLocal(
            db_dir=work_dir / "dynamodb" if self._persist_dir else None,
            log_path=work_dir / "dynamodb-local.log",
        )
        self._dynamodb.launch()
        self._kms = MotoKms(key_dir=work_dir / "kms" if self._persist_dir else None, region=REGION)
        self._kms.start()
        self._dynamodb.wait_until_ready()
        resolver = Resolver(self._template, self._refs, self._attributes, region=REGION, account_id=ACCOUNT_ID)
        self._create_keys(resolver)
        self._create_tables()
        self.environment = self._function_environment(resolver)
        self._apply_environment(
            {
                **self.environment,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                # Any other service goes to moto too, rather than to a real account.
                "AWS_ENDPOINT_URL": self._kms.endpoint,
                "AWS_ENDPOINT_URL_KMS": self._kms.endpoint,
                "AWS_ENDPOINT_URL_DYNAMODB": self._dynamodb.endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        self._functions = LocalFunctions(functions(self._template, self._template_path.parent), REGION, ACCOUNT_ID)
        self._functions.load_all()
        self._start_streams(work_dir if self._persist_dir else None)
        self._gateway = ApiGateway(
            self._template,
            self._functions,
            REGION,
            ACCOUNT_ID,
            extra_routes={("GET", "/openapi.json"): self.openapi},
            parameters=self._parameter_overrides(),
        )
        self._server = GatewayServer(self._gateway, self._port, self._access_log)
        self._server.start()
        if self._state_file:
            write_state(self._state_file, self.state())

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; safe to call twice."""
        steps: list[Callable[[], None]] = []
        if self._server:
            steps.append(self._server.stop)
        if self._streams:
            steps.append(self._streams.stop)
        if self._functions:
            steps.append(self._functions.close)
        steps.append(self._restore_environment)
        if self._kms:
            steps.append(self._kms.stop)
        if self._dynamodb:
            steps.append(self._dynamodb.stop)
        state_file = self._state_file
        if state_file:
            steps.append(lambda: remove_state(state_file))
        if self._temp_dir:
            steps.append(self._temp_dir.cleanup)
        for step in steps:
            try:
                step()
            except Exception:
                logger.exception("stopping the local stack: %s failed", step)
        self._server = self._gateway = self._functions = self._kms = self._dynamodb = self._temp_dir = None
        self._streams = None
        if LocalStack._active is self:
            LocalStack._active = None
        atexit.unregister(self.stop)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- what the stack is made of --------------------------------------------------------------

    def _create_keys(self, resolver: Resolver) -> None:
        assert self._kms is not None
        for logical_id, properties in resources_of_type(self._template, "AWS::KMS::Key").items():
            key_id, arn = self._kms.create_key(
                logical_id,
                key_spec=resolver.resolve(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
                key_usage=resolver.resolve(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
                description=resolver.resolve(properties.get("Description", "")),
            )
            # Like CloudFormation: Ref gives the key id, GetAtt Arn the ARN.
            self._refs[logical_id] = self._attributes[f"{logical_id}.KeyId"] = key_id
            self._attributes[f"{logical_id}.Arn"] = self.key_arns[logical_id] = arn
        for logical_id, properties in resources_of_type(self._template, "AWS::KMS::Alias").items():
            alias_name = resolver.resolve(properties["AliasName"])
            self._kms.create_alias(alias_name, resolver.resolve(properties["TargetKeyId"]))
            self._refs[logical_id] = alias_name

    def _create_tables(self) -> None:
        definitions = table_definitions(self._template)
        self.table_names = {logical_id: logical_id for logical_id in definitions}
        self.warnings += create_missing_tables(self.dynamodb_client(), definitions, self.table_names)
        for logical_id, name in self.table_names.items():
            description = self.dynamodb_client().describe_table(TableName=name)["Table"]
            self._refs[logical_id] = name
            self._attributes[f"{logical_id}.Arn"] = description["TableArn"]
            if "LatestStreamArn" in description:
                self._attributes[f"{logical_id}.StreamArn"] = description["LatestStreamArn"]

    def _start_streams(self, checkpoint_dir: Path | None) -> None:
        """The template's event source mappings, polling DynamoDB Local's streams (local.streams)."""
        assert self._dynamodb is not None and self._functions is not None
        stream_arns = {
            key.removesuffix(".StreamArn"): value
            for key, value in self._attributes.items()
            if key.endswith(".StreamArn")
        }
        self._streams = StreamPoller(
            event_source_mappings(self._template),
            stream_arns,
            self._functions.invoke,
            streams_client(self._dynamodb.endpoint, REGION),
            REGION,
            checkpoint_file=checkpoint_dir / "streams.json" if checkpoint_dir else None,
        )
        self._streams.start()

    def _parameter_overrides(self) -> dict[str, str]:
        """The template parameters behind overridden variables (ALLOWED_ORIGINS is `!Ref AllowedOrigins`), so
        that what API Gateway reads from a parameter itself (a mock integration's template) agrees."""
        parameters = self._template.get("Parameters") or {}
        return {
            expression["Ref"]: self._overrides[name]
            for spec in functions(self._template).values()
            for name, expression in spec.environment.items()
            if name in self._overrides and isinstance(expression, dict) and expression.get("Ref") in parameters
        }

    def _function_environment(self, resolver: Resolver) -> dict[str, str]:
        """All functions share this process, so their variables are merged; a clash is reported."""
        merged: dict[str, str] = {}
        for function_id, spec in functions(self._template).items():
            for name, value in function_environment(self._template, function_id, resolver).items():
                if name in self._overrides and not references_resources(self._template, spec.environment[name]):
                    value = self._overrides[name]
                if merged.setdefault(name, value) != value:
                    self.warnings.append(
                        f"{function_id} sets {name}={value!r} but another function set {merged[name]!r}; using that"
                    )
        return merged

    def _apply_environment(self, values: Mapping[str, str]) -> None:
        for name in [*values, *_AWS_VARIABLES_REMOVED]:
            self._saved_environment.setdefault(name, os.environ.get(name))
        for name in _AWS_VARIABLES_REMOVED:
            os.environ.pop(name, None)
        os.environ.update(values)

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    # -- what tests and tools use ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stack is not running"
        return self._server.base_url

    @property
    def dynamodb_endpoint(self) -> str:
        assert self._dynamodb is not None, "the stack is not running"
        return self._dynamodb.endpoint

    @property
    def kms_endpoint(self) -> str:
        assert self._kms is not None, "the stack is not running"
        return self._kms.endpoint

    @property
    def key_arn(self) -> str:
        """The ARN of the template's only KMS key (see key_arns when there are several)."""
        if len(self.key_arns) != 1:
            raise LookupError(f"the template has {len(self.key_arns)} KMS keys: use key_arns[logical_id]")
        return next(iter(self.key_arns.values()))

    def dynamodb_client(self) -> DynamoDBClient:
        assert self._dynamodb is not None, "the stack is not running"
        return self._dynamodb.client(region=REGION)

    def kms_client(self) -> KMSClient:
        assert self._kms is not None, "the stack is not running"
        return self._kms.client()

    @property
    def dynamodb_running(self) -> bool:
        return self._dynamodb is not None and self._dynamodb.running

    def kill_dynamodb(self) -> None:
        """Kill DynamoDB Local abruptly, as a crash would (for fault tests)."""
        assert self._dynamodb is not None, "the stack is not running"
        self._dynamodb.kill()

    def start_dynamodb(self) -> None:
        """Start DynamoDB Local again on the same port; tables are created again if they were in memory."""
        assert self._dynamodb is not None, "the stack is not running"
        self._dynamodb.start()
        create_missing_tables(self.dynamodb_client(), table_definitions(self._template), self.table_names)

    def restart_dynamodb(self) -> None:
        self.kill_dynamodb()
        self.start_dynamodb()

    def wait_for_streams(self, timeout_seconds: float = 30) -> None:
        """Wait until every stream record written so far has been handed to its function (TimeoutError if not)."""
        assert self._streams is not None, "the stack is not running"
        self._streams.drain(timeout_seconds)

    @property
    def stream_failures(self) -> list[dict[str, Any]]:
        """Batches the event source mappings gave up on (what Lambda sends to the on-failure destination)."""
        return self._streams.failures if self._streams else []

    def forget_authorizations(self) -> None:
        """Drop the gateway's cached authorizer decisions, e.g. right after revoking a key in a test."""
        assert self._gateway is not None, "the stack is not running"
        self._gateway.forget_authorizations()

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke one of the template's functions directly, as Lambda's Invoke API would: for those that no API
        route reaches (the dashboard's custom widget, which the CloudWatch console invokes)."""
        assert self._functions is not None, "the stack is not running"
        return self._functions.invoke(function_id, event)

    def openapi(self) -> dict[str, Any]:
        assert self._functions is not None, "the stack is not running"
        title = str(self._template.get("Description", "API")).split(":")[0].strip()
        return merged_openapi(self._functions.modules(), title, self.base_url)

    def state(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "base_url": self.base_url,
            "region": REGION,
            "dynamodb_endpoint": self.dynamodb_endpoint,
            "kms_endpoint": self.kms_endpoint,
            "key_arns": self.key_arns,
            "table_names": self.table_names,
            "environment": self.environment,
        }

    def summary(self) -> str:
        assert self._gateway is not None and self._dynamodb is not None
        routes = sorted(self._gateway.routes, key=lambda route: (route.path, route.method))
        lines = [f"Local stack is up: {self.base_url}", ""]
        lines += [
            f"  {route.method:<7} {route.path:<40} -> {route.function_id}"
            + (f" (authorizer {route.authorizer})" if route.authorizer else "")
            for route in routes
        ]
        data = f"data in {self._dynamodb.db_dir}" if self._dynamodb.db_dir else "in memory"
        lines += [
            f"  GET     {'/openapi.json':<40} -> the functions' OpenAPI, merged",
            *(
                f"  stream  {mapping.table_id + ' stream':<40} -> {mapping.function_id} ({mapping.logical_id})"
                for mapping in event_source_mappings(self._template)
            ),
            "",
            f"  DynamoDB Local   {self.dynamodb_endpoint}  ({data}; tables: {', '.join(self.table_names.values())})",
            f"  KMS (moto)       {self.kms_endpoint}  ({', '.join(f'{k}: {v}' for k, v in self.key_arns.items())})",
        ]
        if self._state_file:
            lines.append(f"  State            {self._state_file}")
        lines += [f"  Warning: {warning}" for warning in self.warnings]
        lines += ["", "Mint a feedback token: make token. Stop: Ctrl-C."]
        return "\n".join(lines)


def development_key(stack: LocalStack, directory: Path = LOCAL_DIR) -> str:
    """`make local` always offers a working API key: $LOCAL_API_KEY, else the one kept from last time."""
    from agentfeedback.keys.store import ApiKeyStore

    saved = directory / "dev_api_key"
    key = os.environ.get("LOCAL_API_KEY") or (saved.read_text().strip() if saved.exists() else "")
    store = ApiKeyStore(stack.dynamodb_client(), stack.table_names["ApiKeysTable"])
    if not key:
        key, _ = store.create(os.environ.get("LOCAL_TENANT", "local"), name="development")
    elif store.lookup(key) is None:
        store.import_key(key, os.environ.get("LOCAL_TENANT", "local"), name="development")
    directory.mkdir(parents=True, exist_ok=True)
    # The key opens the tenant's data: readable by its owner only, also when an older file was wider.
    descriptor = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(key + "\n")
    return key


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    local_logger = logging.getLogger("local")
    local_logger.addHandler(handler)
    local_logger.setLevel(logging.INFO)
    local_logger.propagate = False
    # SIGTERM (CI, process managers) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    port = int(os.environ.get("PORT") or 3000)
    try:
        running = read_state(STATE_FILE)
        print(f"local stack: one is already running at {running['base_url']} (pid {running['pid']})", file=sys.stderr)
        return 1
    except StackNotRunning:
        pass
    try:
        with LocalStack(
            port=port,
            persist_dir=LOCAL_DIR,
            environment_overrides=os.environ,
            state_file=STATE_FILE,
            access_log=True,
        ) as stack:
            print(stack.summary(), flush=True)
            print(
                f"Development API key (tenant {os.environ.get('LOCAL_TENANT', 'local')}): {development_key(stack)}",
                flush=True,
            )
            warned = False
            while True:
                time.sleep(1)
                if not stack.dynamodb_running and not warned:
                    warned = True
                    logger.error("DynamoDB Local has exited; see %s. Restart with make local.", LOCAL_DIR)
    except (StartupError, TemplateError) as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    print("Local stack stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
