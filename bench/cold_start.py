"""Cold start per function: a fresh Lambda-runtime interpreter imports the handler from the `sam build`
output and serves one event from events/, beside two floors: a bare `import boto3`, and a minimal handler.

The minimal handler is what any feedback endpoint must do at least (bench/minimal_handler.py): import boto3,
PyJWT and cryptography, check the token's key delegation against the KMS key's public half (given as PEM in
an environment variable: a minimal handler would not fetch it from KMS), verify the ES256 feedback token
against the delegated key and send one `update_item` to the feedback table. It serves the feedback function's
event, with the same token.

Layout as in Lambda: the function's build folder first on sys.path (/var/task), then the layer's python/
folder (/opt/python), then a stand-in for the runtime's own AWS SDK (/var/runtime: boto3, botocore and their
dependencies copied from the sam virtual environment, which the layer does not ship). The tree is
precompiled by scripts/precompile.py (what `make build` does); each row says how many modules its cold
start still had to compile (0 unless a module the functions import was left out of the precompilation).
With --no-pyc a second copy without any .pyc is measured too (run with -B: every process compiles
everything, as Lambda does from a zip without .pyc on a read-only /var/task). AWS calls go to moto in
server mode on 127.0.0.1, seeded with the tables, the token key, an API key and the example agent; the
environment is the template's, with the variables Lambda sets.

Time is measured inside the child, from just before the handler import to the end of the first invocation
(Lambda's Init + the first Duration); the interpreter's own start (the same for every row) is left out.
Rounds are interleaved (every row once per round, in a shuffled order), so that a noisy moment hits every
row alike; the ratios to the floors are taken within each round, then summarised (min/median/max).
On x86_64 the layer is built again for x86_64 (a template copy with arm64 replaced) into
.aws-sam/bench-x86_64/, because the arm64 layer's compiled modules (pydantic_core, cryptography) cannot
load here. The interpreter is the one scripts/lambda_python.sh finds (python3.12, as the Lambda runtime).

Usage: python bench/cold_start.py [--repeat 10] [--no-pyc] [--no-build]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "shared")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from local.template import (  # noqa: E402
    TEMPLATE_PATH,
    Resolver,
    function_environment,
    functions,
    load_template,
    resources_of_type,
    table_definitions,
)

SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAMBDA_PYTHON = ROOT / "scripts" / "lambda_python.sh"
PRECOMPILE = ROOT / "scripts" / "precompile.py"
MINIMAL_HANDLER = Path(__file__).resolve().parent / "minimal_handler.py"
REGION = "us-east-1"
TOKEN_PLACEHOLDER = "fb_REPLACE_WITH_A_TOKEN_FROM_make_token"
# The event each function serves; any other function gets the first file of events/<its folder>/.
EVENTS = {
    "feedback": "post_feedback.json",
    "run": "run_agent.json",
    "chat": "chat_completion.json",
    "authorizer": "token_authorizer.json",
    "review": "list_feedback.json",
    "feedback_widget": "render.json",
    # A tool call: the MCP SDK, Mangum, the per-invocation app and a review query, as a client's first call.
    "mcp": "call_negative_comments.json",
}
# More rows for a function, each its own event: the run function answers runs without a framework and its
# other routes (agents, versions, environments) through Powertools' resolver, loaded with such a request.
EXTRA_EVENTS = {"run": {"admin": "list_agents.json"}}
# What /var/runtime holds besides the layer: the AWS SDK and its dependencies.
RUNTIME_PACKAGES = ("boto3", "s3transfer", "botocore", "jmespath", "dateutil", "urllib3", "six.py")
# The rows' names for the floors; the functions' rows are their template ids.
BOTO3, MINIMAL = "import boto3", "minimal handler"
MINIMAL_TASK = "MinimalHandler"
# Issue 9's targets: the median cold start of each function over the minimal handler's, per round.
TARGETS = {"feedback": 1.3, "authorizer": 1.2, "run": 1.6, "chat": 1.6, "review": 1.6}

# Runs in the fresh interpreter. argv[1]: a JSON spec. Writes {"ms", "init_ms", "status"} to spec["out"].
CHILD = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
sys.path[0:0] = spec["paths"]
started = time.perf_counter()
if spec["module"] is None:
    import boto3
    initialised = finished = time.perf_counter()
    status = "-"
else:
    import importlib
    handler = getattr(importlib.import_module(spec["module"]), spec["handler"])
    initialised = time.perf_counter()
    with open(spec["event"]) as stream:
        event = json.load(stream)

    class Context:
        function_name = spec["function_name"]
        function_version = "$LATEST"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec["function_name"]
        aws_request_id = "3f1c0e0a-0000-4000-8000-000000000001"
        log_group_name = "/aws/lambda/" + spec["function_name"]
        log_stream_name = "bench"

        def get_remaining_time_in_millis(self):
            return 10000

    response = handler(event, Context())
    finished = time.perf_counter()
    if isinstance(response, str):  # a custom widget's HTML (no targets: the dashboard, not a user, waits)
        status = "html" if response.startswith("<style>") else "text"
    elif "statusCode" in response:
        status = str(response["statusCode"])
    else:
        status = response.get("policyDocument", {}).get("Statement", [{}])[0].get("Effect", "?")
# Modules this cold start compiled from source (no .pyc beside them): none, when the tree is precompiled.
from importlib.util import cache_from_source
from os.path import exists
compiled = sorted(
    name for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or "").endswith(".py") and not exists(cache_from_source(module.__file__))
)
with open(spec["out"], "w") as stream:
    json.dump({"ms": (finished - started) * 1000, "init_ms": (initialised - started) * 1000, "status": status,
               "compiled": compiled}, stream)
"""


def find_python() -> str:
    """The Lambda runtime's interpreter (python3.12), found as `make build` finds it; exits with what to install."""
    done = subprocess.run([str(LAMBDA_PYTHON), "3.12"], capture_output=True, text=True, timeout=60)
    if done.returncode or not done.stdout.strip():
        raise SystemExit(done.stderr.strip() or "scripts/lambda_python.sh found no python3.12")
    return done.stdout.strip()


# -- the build ----------------------------------------------------------------------------------


def _newest_source_mtime() -> float:
    sources = [TEMPLATE_PATH, *ROOT.glob("functions/**/*"), *ROOT.glob("layers/shared/**/*")]
    return max(path.stat().st_mtime for path in sources if path.is_file() and "__pycache__" not in path.parts)


def build_dir(python: str, rebuild: bool) -> tuple[Path, str]:
    """A `sam build` output this machine can import: the project's own on arm64, an x86_64 one elsewhere."""
    # sam build looks for python3.12 on PATH, as in the Makefile.
    environment = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if platform.machine() in ("aarch64", "arm64"):
        target, note = ROOT / ".aws-sam" / "build", "the project's own build (.aws-sam/build, arm64)"
        if rebuild and not (target / "template.yaml").exists():
            subprocess.run(["make", "build"], cwd=ROOT, check=True)
        return target, note
    base = ROOT / ".aws-sam" / "bench-x86_64"
    target = base / "build"
    note = (
        f"an x86_64 build of the same template into {target.relative_to(ROOT)} "
        "(the project builds for arm64, whose compiled modules cannot load on this x86_64 machine)"
    )
    stamp = target / "template.yaml"
    if rebuild and (not stamp.exists() or stamp.stat().st_mtime < _newest_source_mtime()):
        print(f"Building {target.relative_to(ROOT)} (x86_64) with sam ...", flush=True)
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="bench-template-") as directory:
            template = Path(directory) / "template.yaml"
            template.write_text(TEMPLATE_PATH.read_text().replace("arm64", "x86_64"))
            command = [str(SAM), "build", "--template-file", str(template), "--base-dir", str(ROOT)]
            command += ["--build-dir", str(target), "--cache-dir", str(base / "cache"), "--cached", "--parallel"]
            done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
            if done.returncode:
                raise SystemExit(f"sam build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if not stamp.exists():
        raise SystemExit(f"no build at {target}: run without --no-build")
    return target, note


def runtime_source() -> Path:
    """Where to copy the runtime's AWS SDK from: the sam venv (Python 3.12), else this venv."""
    for candidate in sorted((ROOT / ".venv-sam" / "lib").glob("python3*/site-packages")):
        if (candidate / "boto3").is_dir():
            return candidate
    import boto3

    return Path(boto3.__file__).parents[1]


def make_tree(destination: Path, build: Path, layer_ids: list[str], function_ids: list[str]) -> None:
    """destination/task/<Function> (and the minimal handler's), destination/opt/<Layer>/python,
    destination/runtime: no .pyc anywhere."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for function_id in function_ids:
        shutil.copytree(build / function_id, destination / "task" / function_id, ignore=ignore)
    (destination / "task" / MINIMAL_TASK).mkdir(parents=True)
    shutil.copy2(MINIMAL_HANDLER, destination / "task" / MINIMAL_TASK / "app.py")
    for layer_id in layer_ids:
        shutil.copytree(build / layer_id / "python", destination / "opt" / layer_id / "python", ignore=ignore)
    source = runtime_source()
    (destination / "runtime").mkdir(parents=True)
    for name in RUNTIME_PACKAGES:
        if (source / name).is_dir():
            shutil.copytree(source / name, destination / "runtime" / name, ignore=ignore)
        elif (source / name).is_file():
            shutil.copy2(source / name, destination / "runtime" / name)


def precompile(python: str, tree: Path) -> None:
    # What `make build` does to its output; here to the whole tree, the runtime's stand-in included.
    subprocess.run([python, str(PRECOMPILE), str(tree)], check=True, stdout=subprocess.DEVNULL, timeout=600)


# -- AWS, answered by moto on loopback ----------------------------------------------------------


@dataclass
class FakeAws:
    endpoint: str
    environment: dict[str, str]  # the template's variables, resolved
    events: dict[str, str]  # row -> its event (JSON text), with the API key filled in
    public_key_pem: str  # the token key's public half, for the minimal handler
    mint: Callable[[], str]  # a feedback token for a run of its own
    scratch: Path

    def event_file(self, row: str) -> Path:
        """The row's event, with a token of a new run: every sample saves a first vote, as in the first round."""
        path = self.scratch / f"event-{uuid.uuid4().hex}.json"
        text = self.events[row]
        if TOKEN_PLACEHOLDER in text:
            text = text.replace(TOKEN_PLACEHOLDER, self.mint())
        path.write_text(text)
        return path


def start_fake_aws(template: dict[str, Any], specs: dict[str, Any], scratch: Path) -> tuple[Any, FakeAws]:
    import logging

    import boto3
    from cryptography.hazmat.primitives import serialization
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from agentfeedback.keys.store import ApiKeyStore
    from agentfeedback.runs.registry import AgentRegistry
    from agentfeedback.tokens import TokenClaims
    from agentfeedback.tokens.signer import TokenSigner

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    credentials = {"region_name": REGION, "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, **credentials)
    kms = boto3.client("kms", endpoint_url=endpoint, **credentials)
    refs: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, definition in table_definitions(template).items():
        arn = dynamodb.create_table(TableName=name, **definition)["TableDescription"]["TableArn"]
        refs[name], attributes[f"{name}.Arn"] = name, arn
    for logical_id, properties in resources_of_type(template, "AWS::KMS::Key").items():
        key = kms.create_key(KeySpec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"), KeyUsage=properties["KeyUsage"])
        refs[logical_id] = attributes[f"{logical_id}.KeyId"] = key["KeyMetadata"]["KeyId"]
        attributes[f"{logical_id}.Arn"] = key["KeyMetadata"]["Arn"]
    for logical_id, properties in resources_of_type(template, "AWS::KMS::Alias").items():
        refs[logical_id] = str(properties["AliasName"])
    resolver = Resolver(template, refs, attributes, region=REGION)
    environment: dict[str, str] = {}
    for function_id in specs:
        environment.update(function_environment(template, function_id, resolver))

    # What the example events need: the agent they run, a valid API key, a token signed by the key.
    register = json.loads(json.loads((ROOT / "events" / "run" / "register_agent.json").read_text())["body"])
    registry = AgentRegistry(dynamodb, environment["AGENTS_TABLE"])
    registry.register("acme", register["id"], register["input_schema"], register["output_schema"])
    registry.note_agent("acme", "support-bot")  # the agent the review and MCP events read
    api_key, _ = ApiKeyStore(dynamodb, environment["API_KEYS_TABLE"]).create("acme", "bench")
    signer = TokenSigner(kms, environment["TOKEN_KEY_ID"], 30, environment["STACK_NAME"])

    def mint() -> str:
        run_id = f"run-{uuid.uuid4().hex[:12]}"
        return signer.mint(TokenClaims(tenant="acme", agent_id="city-facts", run_id=run_id, version_id="1"))

    der = kms.get_public_key(KeyId=environment["TOKEN_KEY_ID"])["PublicKey"]
    public_key_pem = (
        serialization.load_der_public_key(der)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    events: dict[str, str] = {}
    for function_id, spec in specs.items():
        folder = ROOT / "events" / spec.code_dir.name
        chosen = folder / EVENTS.get(spec.code_dir.name, "")
        if not chosen.is_file():
            candidates = sorted(folder.glob("*.json"))
            if not candidates:
                continue
            chosen = candidates[0]
        events[function_id] = chosen.read_text().replace("afk_REPLACE_WITH_YOUR_KEY", api_key)
        for label, name in EXTRA_EVENTS.get(spec.code_dir.name, {}).items():
            text = (folder / name).read_text()
            events[f"{function_id} ({label})"] = text.replace("afk_REPLACE_WITH_YOUR_KEY", api_key)
    feedback = next(function_id for function_id, spec in specs.items() if spec.code_dir.name == "feedback")
    events[MINIMAL] = events[feedback]
    fake = FakeAws(endpoint, environment, events, public_key_pem, mint, scratch)
    return server, fake


# -- measuring ----------------------------------------------------------------------------------


def child_environment(fake: FakeAws, function_name: str, task_root: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **fake.environment,
        "MINIMAL_PUBLIC_KEY_PEM": fake.public_key_pem,
        # What the Lambda service sets.
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": "app.lambda_handler",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # Credentials and endpoints that can only reach moto on loopback.
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": fake.endpoint,
    }


@dataclass
class Sample:
    ms: float
    init_ms: float
    status: str
    compiled: list[str]  # modules compiled from source during this cold start


@dataclass
class Row:
    name: str  # BOTO3, MINIMAL or a function id
    task: str  # the folder under task/ it runs from
    handler: str | None  # "module.function"; None for the bare import


def measure(python: str, tree: Path, row: Row, fake: FakeAws, layer_ids: list[str], scratch: Path) -> Sample:
    return _run(python, tree, row, fake, layer_ids, scratch, [])[0]


def import_profile(
    python: str, tree: Path, row: Row, fake: FakeAws, layer_ids: list[str], scratch: Path
) -> list[tuple[str, int, int]]:
    """One more cold start under -X importtime: (module, self us, cumulative us) per import, in order."""
    return _run(python, tree, row, fake, layer_ids, scratch, ["-X", "importtime"])[1]


def _run(
    python: str, tree: Path, row: Row, fake: FakeAws, layer_ids: list[str], scratch: Path, flags: list[str]
) -> tuple[Sample, list[tuple[str, int, int]]]:
    out = scratch / f"out-{uuid.uuid4().hex}.json"
    event = fake.event_file(row.name) if row.handler else None
    task = tree / "task" / row.task
    paths = [str(task), *(str(tree / "opt" / layer / "python") for layer in layer_ids), str(tree / "runtime")]
    module, _, handler = (row.handler or "app.lambda_handler").rpartition(".")
    child_spec = {
        "paths": paths,
        "module": module if row.handler else None,
        "handler": handler,
        "event": str(event or ""),
        "function_name": row.task,
        "out": str(out),
    }
    # -I: nothing from this machine's environment or user site; -S: no site-packages; -B: write no .pyc.
    done = subprocess.run(
        [python, "-I", "-S", "-B", *flags, "-c", CHILD, json.dumps(child_spec)],
        env=child_environment(fake, row.task, task, scratch),
        cwd=task,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    if done.returncode or not out.exists():
        raise RuntimeError(f"{row.name} failed:\n{done.stderr[-2000:]}")
    result = json.loads(out.read_text())
    out.unlink()
    if event:
        event.unlink()
    imports = []
    # "import time: self [us] | cumulative | name", the name indented by its depth.
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
            imports.append((fields[2].rstrip(), int(fields[0]), int(fields[1])))
    return Sample(result["ms"], result["init_ms"], result["status"], result["compiled"]), imports


# -- the report ---------------------------------------------------------------------------------


def spread(values: list[float], digits: int = 0) -> str:
    """min / median / max."""
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f} / {middle:.{digits}f} / {high:.{digits}f}"


def print_table(mode: str, rows: list[Row], samples: dict[tuple[str, str], list[Sample]], targets: dict[str, float]):
    def ratios(name: str, floor: str) -> list[float]:
        # Per round: the row and its floor were measured in the same round, moments apart.
        return [mine.ms / theirs.ms for mine, theirs in zip(samples[(name, mode)], samples[(floor, mode)], strict=True)]

    header = (
        f"{'row':<20} {'status':>6} {'ms min / median / max':>22} {'x minimal min/med/max':>22} "
        f"{'x boto3 min/med/max':>20} {'init ms':>8} {'compiled':>8} {'target':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        mine = samples[(row.name, mode)]
        statuses = "/".join(sorted({sample.status for sample in mine}))
        versus_minimal = ratios(row.name, MINIMAL)
        target = targets.get(row.name)
        verdict = ""
        if target is not None:
            met = statistics.median(versus_minimal) <= target
            verdict = f"<= {target:.1f}x {'met' if met else 'MISSED'}"
        compiled = sorted({name for sample in mine for name in sample.compiled})
        print(
            f"{row.name:<20} {statuses:>6} {spread([sample.ms for sample in mine]):>22} "
            f"{spread(versus_minimal, 2):>22} {spread(ratios(row.name, BOTO3), 2):>20} "
            f"{statistics.median(sample.init_ms for sample in mine):>8.0f} {len(compiled):>8} {verdict:>14}"
        )
        if compiled and mode == "pyc":
            print(f"  {'':<18} compiled at cold start, left out by scripts/precompile.py: {', '.join(compiled)[:300]}")


def print_imports(name: str, imports: list[tuple[str, int, int]]) -> None:
    """Self time per top-level package, and the heaviest imports by cumulative time."""
    by_package: dict[str, float] = {}
    for module, self_us, _ in imports:
        top = module.strip().split(".")[0]
        by_package[top] = by_package.get(top, 0.0) + self_us / 1000
    total = sum(by_package.values())
    print(f"\nImports of {name} (precompiled, one -X importtime run), self time per top-level package:")
    for package, ms in sorted(by_package.items(), key=lambda item: -item[1])[:12]:
        print(f"  {package:<28} {ms:>7.0f} ms  {ms / total:>4.0%}")
    print(f"  {'all imports':<28} {total:>7.0f} ms")
    # The outermost imports of each package (depth <= 2), by cumulative time: what pulled the time in.
    print("Heaviest imports by cumulative time (depth <= 2):")
    shallow = [(module, cumulative) for module, _, cumulative in imports if len(module) - len(module.lstrip()) <= 4]
    for module, cumulative in sorted(shallow, key=lambda item: -item[1])[:12]:
        print(f"  {module.strip():<52} {cumulative / 1000:>7.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="interleaved rounds (fresh processes per row)")
    parser.add_argument("--no-pyc", action="store_true", help="also measure a copy without .pyc (slow)")
    parser.add_argument("--no-build", action="store_true", help="use the existing build as it is")
    args = parser.parse_args(argv)
    started = time.monotonic()

    python = find_python()
    build, build_note = build_dir(python, rebuild=not args.no_build)
    template = load_template()
    specs = {
        function_id: spec
        for function_id, spec in functions(template).items()
        if spec.runtime.startswith("python") and (build / function_id).is_dir()
    }
    layer_ids = [layer_id for layer_id in resources_of_type(template, "AWS::Serverless::LayerVersion")]
    targets = {
        function_id: TARGETS[spec.code_dir.name] for function_id, spec in specs.items() if spec.code_dir.name in TARGETS
    }
    # The run function's target holds for its admin routes too.
    targets.update(
        {
            f"{function_id} ({label})": TARGETS[spec.code_dir.name]
            for function_id, spec in specs.items()
            for label in EXTRA_EVENTS.get(spec.code_dir.name, {})
            if spec.code_dir.name in TARGETS
        }
    )
    with tempfile.TemporaryDirectory(prefix="cold-start-") as directory:
        scratch = Path(directory)
        trees = {"pyc": scratch / "pyc", **({"no-pyc": scratch / "no-pyc"} if args.no_pyc else {})}
        for tree in trees.values():
            make_tree(tree, build, layer_ids, list(specs))
        precompile(python, trees["pyc"])
        prepared = time.monotonic()
        server, fake = start_fake_aws(template, specs, scratch)
        first_task = next(iter(specs))
        rows = [
            Row(BOTO3, first_task, None),
            Row(MINIMAL, MINIMAL_TASK, "app.lambda_handler"),
            *(Row(function_id, function_id, spec.handler) for function_id, spec in specs.items()),
            *(
                Row(f"{function_id} ({label})", function_id, spec.handler)
                for function_id, spec in specs.items()
                for label in EXTRA_EVENTS.get(spec.code_dir.name, {})
            ),
        ]
        rows = [row for row in rows if row.handler is None or row.name in fake.events]
        samples: dict[tuple[str, str], list[Sample]] = {(row.name, mode): [] for row in rows for mode in trees}
        feedback = next(row for row in rows if row.name in specs and specs[row.name].code_dir.name == "feedback")
        shuffled = random.Random(9)
        try:
            for _round in range(args.repeat):
                order = [(row, mode) for row in rows for mode in trees]
                shuffled.shuffle(order)
                for row, mode in order:
                    samples[(row.name, mode)].append(measure(python, trees[mode], row, fake, layer_ids, scratch))
            imports = import_profile(python, trees["pyc"], feedback, fake, layer_ids, scratch)
        finally:
            server.stop()

    print(f"Cold start: import + init + one event, {args.repeat} interleaved rounds of fresh processes")
    print(f"  interpreter: {python} (scripts/lambda_python.sh); machine {platform.machine()}")
    print(f"  build: {build_note}")
    print(f"  runtime AWS SDK stand-in copied from {runtime_source()}")
    print("  AWS: moto server on 127.0.0.1 (its answers are inside the event time)")
    print(
        "  minimal handler: bench/minimal_handler.py (boto3 + PyJWT + cryptography, the token's key delegation and"
        " ES256 verify, one update_item)"
    )
    print("  ratios: per round (row / floor measured in the same round), then min / median / max")
    for mode in trees:
        what = "precompiled by scripts/precompile.py" if mode == "pyc" else "no .pyc anywhere, -B"
        print(f"\n[{mode}: {what}]")
        print_table(mode, rows, samples, targets)
    print_imports(feedback.name, imports)
    print(f"\n({prepared - started:.0f} s to prepare the trees, {time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
