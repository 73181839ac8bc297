"""Built package size per function and of the shared layer, unzipped and zipped, from `sam build`'s output.

Reads .aws-sam/build (runs `make build` first if it is missing). A function's deployed code is its own
folder; the layer is counted once, separately, and again in each function's total against Lambda's
250 MB unzipped limit (function + layers). Zipped sizes are measured by zipping in memory with deflate,
as `sam deploy` does. The .pyc share is shown separately (`make build` precompiles what the functions can
import: scripts/precompile.py). Each layer is checked against issue 9's target of 30 MB unzipped: the
runtime's AWS SDK is not shipped (the layer has no botocore), and nothing is compiled that no function imports.
Usage: python bench/package_size.py [--build-dir .aws-sam/build]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local.template import functions, load_template, resources_of_type  # noqa: E402

UNZIPPED_LIMIT = 250 * 1024 * 1024
MB = 1024 * 1024
LAYER_TARGET = 30 * MB  # issue 9: the shared layer, unzipped


def files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def unzipped(folder: Path, pyc_only: bool = False) -> int:
    return sum(path.stat().st_size for path in files(folder) if not pyc_only or path.suffix == ".pyc")


def zipped(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files(folder):
            archive.write(path, path.relative_to(folder))
    return buffer.tell()


def size(value: int) -> str:
    return f"{value / MB:.2f}" if value >= 10 * 1024 else f"{value / MB:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args(argv)
    build: Path = args.build_dir
    if not (build / "template.yaml").exists():
        print(f"No build in {build}: running make build ...", flush=True)
        subprocess.run(["make", "build"], cwd=ROOT, check=True)

    template = load_template()
    layer_ids = [layer_id for layer_id in resources_of_type(template, "AWS::Serverless::LayerVersion")]
    layers = {layer_id: build / layer_id for layer_id in layer_ids if (build / layer_id).is_dir()}
    layer_sizes = {
        layer_id: (unzipped(folder), zipped(folder), unzipped(folder, True)) for layer_id, folder in layers.items()
    }
    layer_by_source = {
        (ROOT / str(properties.get("ContentUri", ""))).resolve(): layer_id
        for layer_id, properties in resources_of_type(template, "AWS::Serverless::LayerVersion").items()
    }
    print(f"Package sizes from {build} (MB = 2^20 bytes)")
    header = f"{'package':<22} {'files':>6} {'unzipped MB':>12} {'zipped MB':>10} "
    header += f"{'of which .pyc MB':>17} {'+ layers MB':>12}"
    print(header)
    print("-" * len(header))
    layer_total = sum(unzipped_size for unzipped_size, _, _ in layer_sizes.values())
    for function_id, spec in functions(template).items():
        folder = build / function_id
        if not folder.is_dir():
            print(f"{function_id:<22} (not built)")
            continue
        own = unzipped(folder)
        used = [layer_by_source.get(path.resolve()) for path in spec.layer_dirs]
        total = own + sum(layer_sizes[layer_id][0] for layer_id in used if layer_id in layer_sizes)
        print(
            f"{function_id:<22} {len(files(folder)):>6} {size(own):>12} {size(zipped(folder)):>10} "
            f"{size(unzipped(folder, True)):>17} {size(total):>12}"
        )
    for layer_id, (unzipped_size, zipped_size, pyc_size) in layer_sizes.items():
        print(
            f"{layer_id + ' (layer)':<22} {len(files(layers[layer_id])):>6} {size(unzipped_size):>12} "
            f"{size(zipped_size):>10} {size(pyc_size):>17} {'':>12}"
        )
    print(
        f"\nLambda's limit: {UNZIPPED_LIMIT // MB} MB unzipped per function with its layers "
        f"(the layers here: {layer_total / UNZIPPED_LIMIT:.0%} of it)."
    )
    for layer_id, (unzipped_size, _, _) in layer_sizes.items():
        verdict = "met" if unzipped_size <= LAYER_TARGET else "MISSED"
        print(f"{layer_id}: {size(unzipped_size)} MB unzipped, target <= {LAYER_TARGET // MB} MB: {verdict}")

    for layer_id, folder in layers.items():
        python = folder / "python"
        packages: dict[str, int] = {}
        for path in files(python):
            top = path.relative_to(python).parts[0]
            if top.endswith((".dist-info", ".data")):
                top = "(package metadata)"
            elif top.endswith(".so") or top.endswith(".py"):
                top = top.split(".", 1)[0]
            packages[top] = packages.get(top, 0) + path.stat().st_size
        print(f"\nLargest parts of {layer_id}:")
        for name, value in sorted(packages.items(), key=lambda item: -item[1])[:10]:
            print(f"  {name:<28} {size(value):>8} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
