"""Precompile a `sam build` output's Python modules, for the interpreter that runs this script (python3.12).

Lambda cannot write bytecode to its read-only /var/task and /opt, so every module without a .pyc is compiled
again at every cold start. Each module a function can import gets an unchecked-hash .pyc, which stays valid
whatever zipping does to the files' timestamps. Left out are the packages that no function ever imports, whose
bytecode would only add to the layer's size (bench/cold_start.py counts any module a cold start had to
compile, so a package wrongly left out here shows there):
- cffi and pycparser: cryptography needs them to be built; at run time its Rust bindings load only the
  `_cffi_backend` extension.
- pydantic.v1 and pydantic.experimental: the legacy and the unreleased APIs; the models use pydantic 2.
- Powertools' utilities other than typing, data_classes (the resolvers' events) and jmespath_utils (the
  Logger's correlation ids): parser, idempotency, batch, feature flags, ... are features the functions do not use.

Usage: python3.12 scripts/precompile.py DIR...
"""

from __future__ import annotations

import compileall
import py_compile
import re
import sys

NEVER_IMPORTED = re.compile(
    r"/(cffi|pycparser|pydantic/v1|pydantic/experimental)/"
    r"|/aws_lambda_powertools/utilities/(?!(typing|data_classes|jmespath_utils)/|__init__\.py$)"
)


def precompile(folder: str) -> bool:
    return bool(
        compileall.compile_dir(
            folder,
            quiet=1,
            workers=0,
            rx=NEVER_IMPORTED,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    )


def main(folders: list[str]) -> int:
    if not folders:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if all([precompile(folder) for folder in folders]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
