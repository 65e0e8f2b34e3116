"""Helpers of the demo (scripts/demo.py) and the local flow (scripts/local.py): loopback
ports, waiting for a server, and seeding moto server with images and scan results."""

from __future__ import annotations

import hashlib
import json
import socket
import time
import urllib.request

ACCOUNT = "123456789012"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_http(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as err:
            # The runtime emulator answers 4xx/5xx on unknown paths: that still means "up".
            if getattr(err, "code", None):
                return
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


def wait_port(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


def manifest(config_digest_seed: str, size: int = 1469) -> str:
    """A minimal Docker v2 schema 2 manifest; the seed makes each one distinct."""
    digest = "sha256:" + (config_digest_seed.encode().hex() * 64)[:64]
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": size, "digest": digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": digest}],
    })


def index_manifest(children: list[tuple[str, str]]) -> str:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 528,
             "digest": digest, "platform": {"architecture": arch, "os": "linux"}}
            for digest, arch in children
        ],
    })


def push(ecr, repository: str, body: str, tag: str | None = None,
         media_type: str = "application/vnd.docker.distribution.manifest.v2+json",
         digest: str | None = None) -> str:
    """Pushes the manifest with `PutImage`; returns the image's digest: `digest` when
    given (e.g. the one a sample event names), else the manifest's own sha256, as a
    registry computes it (moto would otherwise give layer-less manifests such as
    indexes one of a few random digests)."""
    args = {"repositoryName": repository, "imageManifest": body, "imageManifestMediaType": media_type,
            "imageDigest": digest or "sha256:" + hashlib.sha256(body.encode()).hexdigest()}
    if tag:
        args["imageTag"] = tag
    pushed = ecr.put_image(**args)["image"]["imageId"]["imageDigest"]
    # moto records push times in whole seconds; a pause gives every image its own push
    # time, so "keep the newest N" keeps what a real registry would.
    time.sleep(1.05)
    return pushed


def scan_finding(name: str, severity: str, package: str, version: str, score: str) -> dict:
    """One finding as `DescribeImageScanFindings` returns it."""
    return {
        "name": name, "severity": severity, "description": f"{name} in {package} {version}",
        "uri": f"https://nvd.nist.gov/vuln/detail/{name}",
        "attributes": [{"key": "package_name", "value": package}, {"key": "package_version", "value": version},
                       {"key": "CVSS3_SCORE", "value": score}],
    }


def seed_scan_findings(moto_endpoint: str, repository: str, digest: str, findings: list[dict]) -> None:
    """The basic-scan results `DescribeImageScanFindings` returns for the image (moto's
    seeding API)."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    completed = int(time.time())
    body = {"region": REGION, "results": [{
        "registryId": ACCOUNT, "repositoryName": repository, "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {
            "imageScanCompletedAt": completed, "vulnerabilitySourceUpdatedAt": completed,
            "findingSeverityCounts": counts, "findings": findings,
        }}]}
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/static/ecr/scan-finding-results",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass
