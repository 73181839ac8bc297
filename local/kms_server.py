"""KMS from moto in server mode, in this process, on loopback; keys are created through the KMS API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from cryptography.hazmat.primitives import serialization
from moto.kms.models import kms_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local.startup import LOOPBACK

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


def kms_client(endpoint: str, region: str = "us-east-1") -> KMSClient:
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class MotoKms:
    """`key_dir` keeps asymmetric keys across restarts; None gives fresh keys every time."""

    def __init__(self, key_dir: Path | None, region: str = "us-east-1") -> None:
        self.key_dir = key_dir
        self.region = region
        self._server: ThreadedMotoServer | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        # Werkzeug would print one line per KMS call.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> KMSClient:
        return kms_client(self.endpoint, self.region)

    def create_key(self, name: str, key_spec: str, key_usage: str, description: str = "") -> tuple[str, str]:
        """Create a key; return its id and ARN."""
        request: dict[str, Any] = {"KeySpec": key_spec, "KeyUsage": key_usage, "Description": description}
        metadata = self.client().create_key(**request)["KeyMetadata"]
        if self.key_dir is not None and key_spec != "SYMMETRIC_DEFAULT":
            self._keep_key_material(metadata["Arn"], self.key_dir / f"{name}.{key_spec}.pem")
        return metadata["KeyId"], metadata["Arn"]

    def _keep_key_material(self, arn: str, pem_path: Path) -> None:
        # KMS cannot import asymmetric private keys, so the saved one is put back into moto's in-process
        # backend: tokens minted before a restart of the stack keep verifying.
        _, _, _, region, account_id, resource = arn.split(":", 5)
        moto_key: Any = kms_backends[account_id][region].keys[resource.split("/", 1)[1]].private_key
        if pem_path.exists():
            moto_key.private_key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
            return
        pem_path.parent.mkdir(parents=True, exist_ok=True)
        pem_path.touch(mode=0o600)
        pem_path.write_bytes(
            moto_key.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def create_alias(self, alias_name: str, key_id: str) -> None:
        client = self.client()
        try:
            client.create_alias(AliasName=alias_name, TargetKeyId=key_id)
        except client.exceptions.AlreadyExistsException:
            client.update_alias(AliasName=alias_name, TargetKeyId=key_id)
