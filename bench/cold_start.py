"""Cold start per function: a fresh Lambda-runtime interpreter imports the handler from the `sam build`
output and serves one event from events/, with and without precompiled bytecode, beside `import boto3`.

Layout as in Lambda: the function's build folder first on sys.path (/var/task), then the layer's python/
folder (/opt/python), then a stand-in for the runtime's own boto3 (/var/runtime: boto3 and s3transfer
copied from the sam virtual environment; botocore and the rest come from the layer, which shadows the
runtime's copies in Lambda too). Two copies of that tree are made per run: one without any .pyc (run
with -B, so nothing is written: every process compiles everything, as Lambda does from a zip without .pyc
on a read-only /var/task), and one precompiled with `compileall --invalidation-mode unchecked-hash` (what
`make build` does). AWS calls go to moto in server mode on 127.0.0.1, seeded with the tables, the token
key, an API key and the example agent; the environment is the template's, with the Lambda variables set,
so Powertools' Tracer is on as in AWS (X-Ray segments go to 127.0.0.1:2000 over UDP, where nothing
listens). Time is measured inside the child, from just before the handler import to the end of the first
invocation (Lambda's Init + the first Duration); the interpreter's own start (the same for every row) is
left out. Median of --repeat rounds (at least 3; fewer once --budget seconds have passed), interleaved.
On x86_64 the layer is built again for x86_64 (a template copy with arm64 replaced) into
.aws-sam/bench-x86_64/, because the arm64 layer's compiled modules (pydantic_core, cryptography) cannot
load here.

Usage: python bench/cold_start.py [--repeat 5] [--budget 120] [--no-build]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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

PYENV = {"PYENV_VERSION": "3.11.7:3.12.1:3.13.0"}
SAM = ROOT / ".venv-sam" / "bin" / "sam"
REGION = "us-east-1"
# The event each function serves; any other function gets the first file of events/<its folder>/.
EVENTS = {
    "feedback": "post_feedback.json",
    "run": "run_agent.json",
    "chat": "chat_completion.json",
    "authorizer": "token_authorizer.json",
    "review": "list_feedback.json",
}
RUNTIME_PACKAGES = ("boto3", "s3transfer", "botocore", "jmespath", "dateutil", "urllib3", "six.py")

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
    if "statusCode" in response:
        status = str(response["statusCode"])
    else:
        status = response.get("policyDocument", {}).get("Statement", [{}])[0].get("Effect", "?")
with open(spec["out"], "w") as stream:
    json.dump({"ms": (finished - started) * 1000, "init_ms": (initialised - started) * 1000, "status": status}, stream)
"""


def find_python() -> tuple[str, str]:
    """The Lambda runtime's interpreter (python3.12) if this machine has it, else this one; and a note."""
    found = shutil.which("python3.12")
    if found:
        try:
            executable = subprocess.run(
                [found, "-c", "import sys; print(sys.executable)"],
                env={**os.environ, **PYENV},
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
            return executable, f"python3.12 ({executable})"
        except (subprocess.SubprocessError, OSError):
            pass
    return sys.executable, (
        f"python3.12 not found: using {sys.executable} (Python {platform.python_version()}); "
        "the layer's compiled modules are built for 3.12 and may fail to load"
    )


# -- the build ----------------------------------------------------------------------------------


def _newest_source_mtime() -> float:
    sources = [TEMPLATE_PATH, *ROOT.glob("functions/**/*"), *ROOT.glob("layers/shared/**/*")]
    return max(path.stat().st_mtime for path in sources if path.is_file() and "__pycache__" not in path.parts)


def build_dir(rebuild: bool) -> tuple[Path, str]:
    """A `sam build` output this machine can import: the project's own on arm64, an x86_64 one elsewhere."""
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
            done = subprocess.run(
                command, cwd=ROOT, env={**os.environ, **PYENV}, capture_output=True, text=True, timeout=600
            )
            if done.returncode:
                raise SystemExit(f"sam build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if not stamp.exists():
        raise SystemExit(f"no build at {target}: run without --no-build")
    return target, note


def runtime_source() -> Path:
    """Where to copy the runtime's boto3 from: the sam venv (Python 3.12), else this venv."""
    for candidate in sorted((ROOT / ".venv-sam" / "lib").glob("python3*/site-packages")):
        if (candidate / "boto3").is_dir():
            return candidate
    import boto3

    return Path(boto3.__file__).parents[1]


def make_tree(destination: Path, build: Path, layer_ids: list[str], function_ids: list[str]) -> None:
    """destination/task/<Function>, destination/opt/<Layer>/python, destination/runtime: no .pyc anywhere."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for function_id in function_ids:
        shutil.copytree(build / function_id, destination / "task" / function_id, ignore=ignore)
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
    # The same command as `make build`: unchecked-hash .pyc stay valid whatever the zip does to timestamps.
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(tree)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=600)


# -- AWS, answered by moto on loopback ----------------------------------------------------------


@dataclass
class FakeAws:
    endpoint: str
    environment: dict[str, str]  # the template's variables, resolved
    events: dict[str, Path]  # function id -> the event file, with a real token / key filled in


def start_fake_aws(template: dict[str, Any], specs: dict[str, Any], scratch: Path) -> tuple[Any, FakeAws]:
    import logging

    import boto3
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from agentfeedback.keys.store import ApiKeyStore
    from agentfeedback.runs.registry import AgentRegistry
    from agentfeedback.tokens import TokenClaims, TokenSigner

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
    AgentRegistry(dynamodb, environment["AGENTS_TABLE"]).register(
        "acme", register["id"], register["input_schema"], register["output_schema"]
    )
    api_key, _ = ApiKeyStore(dynamodb, environment["API_KEYS_TABLE"]).create("acme", "bench")
    token = TokenSigner(kms, environment["TOKEN_KEY_ID"], 30).mint(
        TokenClaims(tenant="acme", agent_id="city-facts", run_id=f"run-{uuid.uuid4().hex[:12]}", version_id="1")
    )
    events: dict[str, Path] = {}
    for function_id, spec in specs.items():
        folder = ROOT / "events" / spec.code_dir.name
        chosen = folder / EVENTS.get(spec.code_dir.name, "")
        if not chosen.is_file():
            candidates = sorted(folder.glob("*.json"))
            if not candidates:
                continue
            chosen = candidates[0]
        text = chosen.read_text()
        text = text.replace("fb_REPLACE_WITH_A_TOKEN_FROM_make_token", token)
        text = text.replace("afk_REPLACE_WITH_YOUR_KEY", api_key)
        events[function_id] = scratch / f"{function_id}.{chosen.name}"
        events[function_id].write_text(text)
    return server, FakeAws(endpoint=endpoint, environment=environment, events=events)


# -- measuring ----------------------------------------------------------------------------------


def child_environment(fake: FakeAws, function_id: str, task_root: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **fake.environment,
        # What the Lambda service sets.
        "AWS_LAMBDA_FUNCTION_NAME": function_id,
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


def measure(
    python: str,
    tree: Path,
    function_id: str | None,
    spec: Any,
    fake: FakeAws,
    layer_ids: list[str],
    scratch: Path,
    import_times: dict[str, float] | None = None,
) -> Sample:
    out = scratch / f"out-{uuid.uuid4().hex}.json"
    task = tree / "task" / (function_id or next(iter(fake.events)))
    paths = [str(task), *(str(tree / "opt" / layer / "python") for layer in layer_ids), str(tree / "runtime")]
    module, _, handler = (spec.handler if spec else "app.lambda_handler").rpartition(".")
    child_spec = {
        "paths": paths,
        "module": module if function_id else None,
        "handler": handler,
        "event": str(fake.events.get(function_id, "")) if function_id else "",
        "function_name": function_id or "floor",
        "out": str(out),
    }
    # -I: nothing from this machine's environment or user site; -S: no site-packages; -B: write no .pyc.
    flags = ["-I", "-S", "-B", *(["-X", "importtime"] if import_times is not None else [])]
    done = subprocess.run(
        [python, *flags, "-c", CHILD, json.dumps(child_spec)],
        env=child_environment(fake, function_id or "floor", task, scratch),
        cwd=task,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    if done.returncode or not out.exists():
        raise RuntimeError(f"{function_id or 'import boto3'} failed:\n{done.stderr[-2000:]}")
    result = json.loads(out.read_text())
    out.unlink()
    if import_times is not None:
        # "import time: self [us] | cumulative | name": self time summed per top-level package.
        for line in done.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
                top = fields[2].strip().split(".")[0]
                import_times[top] = import_times.get(top, 0.0) + int(fields[0]) / 1000
    return Sample(result["ms"], result["init_ms"], result["status"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per function and mode (median)")
    parser.add_argument("--budget", type=float, default=120, help="after 3 rounds, stop once this many s passed")
    parser.add_argument("--no-build", action="store_true", help="use the existing build as it is")
    args = parser.parse_args(argv)
    started = time.monotonic()

    python, python_note = find_python()
    build, build_note = build_dir(rebuild=not args.no_build)
    template = load_template()
    specs = {
        function_id: spec
        for function_id, spec in functions(template).items()
        if spec.runtime.startswith("python") and (build / function_id).is_dir()
    }
    layer_ids = [layer_id for layer_id in resources_of_type(template, "AWS::Serverless::LayerVersion")]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as directory:
        scratch = Path(directory)
        trees = {"no-pyc": scratch / "no-pyc", "pyc": scratch / "pyc"}
        for tree in trees.values():
            make_tree(tree, build, layer_ids, list(specs))
        precompile(python, trees["pyc"])
        prepared = time.monotonic()
        server, fake = start_fake_aws(template, specs, scratch)
        targets: list[str | None] = [None, *[function_id for function_id in specs if function_id in fake.events]]
        samples: dict[tuple[str | None, str], list[Sample]] = {(t, mode): [] for t in targets for mode in trees}
        rounds = 0
        import_times: dict[str, float] = {}
        profiled = next((target for target in targets if target and "feedback" in target.lower()), targets[-1])
        try:
            while rounds < args.repeat and not (rounds >= 3 and time.monotonic() - prepared > args.budget):
                rounds += 1
                for target in targets:  # interleaved, so that a noisy moment hits every row alike
                    for mode, tree in trees.items():
                        spec = specs.get(target) if target else None
                        samples[(target, mode)].append(measure(python, tree, target, spec, fake, layer_ids, scratch))
            # Where the time goes: one more precompiled cold start of the feedback function, with -X importtime.
            measure(python, trees["pyc"], profiled, specs.get(profiled or ""), fake, layer_ids, scratch, import_times)
        finally:
            server.stop()

    def median(target: str | None, mode: str, field: str = "ms") -> float:
        return statistics.median(getattr(sample, field) for sample in samples[(target, mode)])

    floor = {mode: median(None, mode) for mode in trees}
    print(f"Cold start: import + init + one event, median of {rounds} fresh processes per cell")
    print(f"  interpreter: {python_note}; machine {platform.machine()}")
    print(f"  build: {build_note}")
    print(f"  runtime boto3 stand-in copied from {runtime_source()}")
    print(
        "  AWS: moto server on 127.0.0.1 (its answers are inside the event time); Tracer on as in Lambda\n"
        "  no-pyc: no .pyc anywhere, nothing written (-B); pyc: compileall --invalidation-mode unchecked-hash\n"
    )
    header = (
        f"{'function':<20} {'event':<22} {'status':>6} {'no-pyc ms':>10} {'pyc ms':>8} {'pyc saves':>9} "
        f"{'x floor no-pyc':>14} {'x floor pyc':>11} {'pyc init ms':>11}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'import boto3 (floor)':<20} {'-':<22} {'-':>6} {floor['no-pyc']:>10.0f} {floor['pyc']:>8.0f} "
        f"{1 - floor['pyc'] / floor['no-pyc']:>9.0%} {1:>14.2f} {1:>11.2f} {floor['pyc']:>11.0f}"
    )
    for target in targets[1:]:
        assert target is not None
        no_pyc, pyc = median(target, "no-pyc"), median(target, "pyc")
        statuses = {sample.status for mode in trees for sample in samples[(target, mode)]}
        print(
            f"{target:<20} {fake.events[target].name.split('.', 1)[1]:<22} {'/'.join(sorted(statuses)):>6} "
            f"{no_pyc:>10.0f} {pyc:>8.0f} {1 - pyc / no_pyc:>9.0%} {no_pyc / floor['no-pyc']:>14.2f} "
            f"{pyc / floor['pyc']:>11.2f} {median(target, 'pyc', 'init_ms'):>11.0f}"
        )
    print(f"\nImports of {profiled} (precompiled, one -X importtime run), self time per top-level package:")
    total_import = sum(import_times.values())
    for name, ms in sorted(import_times.items(), key=lambda item: -item[1])[:10]:
        print(f"  {name:<28} {ms:>7.0f} ms  {ms / total_import:>4.0%}")
    print(f"  {'all imports':<28} {total_import:>7.0f} ms")
    print(f"\n({prepared - started:.0f} s to prepare the trees, {time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
