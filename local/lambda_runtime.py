"""Runs the template's Python handlers in this process, one invocation at a time.

Lambda never runs two invocations in one process, and Powertools relies on it: the resolver keeps the
current event on the module-level `app`, and Metrics and Logger keep per-invocation state in
process-wide objects. So invocations here take turns; requests still arrive and wait concurrently.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.startup import StartupError
from local.template import FunctionSpec

Handler = Callable[[Any, Any], Any]
_MODULE_PREFIX = "_local_function_"


class FunctionError(Exception):
    """The handler raised; the original exception is the __cause__."""


class FunctionTimeout(Exception):
    """The handler ran past the function's Timeout."""


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def is_streamed(result: Any) -> bool:
    """Whether a handler's result is a core.streaming.StreamedResponse (checked by shape: the stack loads its own
    copy of the layer, whose class is not this process's)."""
    return hasattr(result, "status_code") and hasattr(result, "body") and not isinstance(result, dict)


def _top_level_names(layer_dirs: Iterable[Path]) -> set[str]:
    names = set()
    for layer_dir in layer_dirs:
        for entry in layer_dir.iterdir() if layer_dir.is_dir() else ():
            if (entry / "__init__.py").exists() or entry.suffix == ".py":
                names.add(entry.stem)
    return names


class LocalFunctions:
    """Loads and invokes handlers. `close()` puts sys.path and sys.modules back as they were."""

    def __init__(self, specs: Mapping[str, FunctionSpec], region: str = "us-east-1", account_id: str = "123456789012"):
        self._specs = dict(specs)
        self._region = region
        self._account_id = account_id
        self._invocation_lock = threading.Lock()
        self._loaded: dict[str, tuple[ModuleType, Handler]] = {}
        self._generation = 0
        layer_dirs = list(dict.fromkeys(path for spec in specs.values() for path in spec.layer_dirs))
        self._layer_paths = [str(path) for path in layer_dirs]
        self._layer_packages = _top_level_names(layer_dirs)
        # The handlers get their own import of the layer's packages, so that module-level caches (settings,
        # clients) hold this stack's configuration, not that of code that imported them earlier in this
        # process (unit tests); close() restores the earlier modules for the code that runs afterwards.
        self._saved_modules = {name: module for name, module in sys.modules.items() if self._is_layer_module(name)}
        for name in self._saved_modules:
            del sys.modules[name]
        sys.path[:0] = self._layer_paths

    def _is_layer_module(self, name: str) -> bool:
        return name.split(".", 1)[0] in self._layer_packages

    def load_all(self) -> None:
        """Load every function now, so that an import error stops the stack at startup."""
        for function_id in self._specs:
            self._instance(function_id)

    def _instance(self, function_id: str) -> tuple[ModuleType, Handler]:
        if function_id not in self._loaded:
            self._loaded[function_id] = self._load(function_id)
        return self._loaded[function_id]

    def _load(self, function_id: str) -> tuple[ModuleType, Handler]:
        spec = self._specs[function_id]
        if not spec.runtime.startswith("python"):
            raise StartupError(f"{function_id}: runtime {spec.runtime!r} cannot run in the local stack")
        module_path, _, handler_name = spec.handler.rpartition(".")
        source = spec.code_dir / (module_path.replace(".", "/") + ".py")
        if not source.is_file():
            raise StartupError(f"{function_id}: handler {spec.handler} needs {source}, which does not exist")
        self._generation += 1
        # Several functions have an app.py: each gets a module name of its own.
        module_name = f"{_MODULE_PREFIX}{function_id}_{self._generation}"
        import_spec = importlib.util.spec_from_file_location(module_name, source)
        assert import_spec is not None and import_spec.loader is not None
        module = importlib.util.module_from_spec(import_spec)
        sys.modules[module_name] = module
        try:
            import_spec.loader.exec_module(module)
        except Exception as exc:
            raise StartupError(f"{function_id}: importing {source} failed: {exc!r}") from exc
        return module, getattr(module, handler_name)

    def modules(self) -> list[ModuleType]:
        """The loaded function modules (for reading what they declare, e.g. their resolver's routes)."""
        return [module for module, _ in list(self._loaded.values())]

    def invoke(self, function_id: str, event: Any, entry: str | None = None) -> Any:
        """The handler's result. `entry` names another function of the handler's module to call when it has one
        (`handle`, which a streaming function has: its result may be a StreamedResponse, whose chunks then come
        through `_stream`)."""
        spec = self._specs[function_id]
        with self._invocation_lock:
            module, handler = self._instance(function_id)
            if entry is not None:
                handler = getattr(module, entry, handler)
            context = FakeLambdaContext(
                function_name=function_id,
                memory_limit_in_mb=spec.memory_mb,
                invoked_function_arn=f"arn:aws:lambda:{self._region}:{self._account_id}:function:{function_id}",
                timeout_seconds=spec.timeout_seconds,
            )
            result = self._call(function_id, lambda: handler(event, context), spec.timeout_seconds, context)
        if is_streamed(result):
            result.body = self._stream(function_id, result.body, context)
        return result

    def _call(self, function_id: str, call: Callable[[], Any], timeout: float, context: FakeLambdaContext) -> Any:
        """call() on a thread of its own, as long as `timeout` seconds; the caller holds the invocation lock."""
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = call()
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"{function_id}-{context.aws_request_id[:8]}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            # Lambda discards a timed-out sandbox: the next call gets a fresh module (the thread runs on).
            self._loaded.pop(function_id, None)
            raise FunctionTimeout(f"{function_id} timed out after {self._specs[function_id].timeout_seconds} s")
        if "error" in outcome:
            raise FunctionError(f"{function_id} raised {outcome['error']!r}") from outcome["error"]
        return outcome["result"]

    def _stream(self, function_id: str, chunks: Iterable[bytes], context: FakeLambdaContext) -> Iterator[bytes]:
        """A streamed body's chunks, each produced under the invocation lock (the invocation goes on until its
        last chunk, as in Lambda, but other functions may run between two chunks) and within the function's
        time. Closing it (a client gone) closes the function's iterator."""
        iterator = iter(chunks)
        end = object()
        try:
            while True:
                timeout = context.get_remaining_time_in_millis() / 1000
                with self._invocation_lock:
                    chunk = self._call(function_id, lambda: next(iterator, end), timeout, context)
                if chunk is end:
                    return
                yield chunk
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with self._invocation_lock, contextlib.suppress(ValueError):  # still running after a timeout
                    close()

    def close(self) -> None:
        for name in [name for name in sys.modules if self._is_layer_module(name) or name.startswith(_MODULE_PREFIX)]:
            del sys.modules[name]
        sys.modules.update(self._saved_modules)
        for path in self._layer_paths:
            if path in sys.path:
                sys.path.remove(path)
