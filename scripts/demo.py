"""The ecr-janitor demo: the real functions, run by cargo-lambda, against moto server.

Started by `make demo` (scripts/demo.sh), which installs the tools and builds the
functions first. This script:

1. starts moto server on a free loopback port (the embedded AWS),
2. seeds a realistic registry: release tags, `latest`, untagged CI builds, an old
   multi-arch index with its children, an image used by a Lambda function, one by an
   ECS service scaled to zero and one by a Kubernetes CronJob (a kubectl list in S3),
3. starts `cargo lambda watch` (the Lambda runtime API) and the three function
   binaries under it, with the janitor configuration in scripts/demo/,
4. drives the real event flow with `cargo lambda invoke`: a push with a forbidden tag,
   a basic scan event, an Inspector2 finding, then a scheduled sweep in dry-run and
   again in enforce mode,
5. prints what happened at each step, read back from the registry, Security Hub and
   the janitor's bus (captured through an SQS queue),

and stops every process it started, also on Ctrl-C or failure.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3

from localaws import (ACCOUNT, REGION, free_port, index_manifest, manifest, push, scan_finding,
                      seed_scan_findings, wait_http, wait_port)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
EVENTS = ROOT / "tests" / "events"
DEMO = ROOT / "scripts" / "demo"
BUS = "ecr-janitor-demo"
FUNCTIONS = ["tag-enforcer", "scan-forwarder", "lifecycle-sweeper"]


def say(text: str) -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    # Bold on a terminal only: a log file or CI output gets no escape codes.
    if sys.stdout.isatty():
        say(f"\n\033[1m== {text}\033[0m")
    else:
        say(f"\n== {text}")


class Processes:
    """Every child process the demo starts, each in its own process group."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = open(log, "wb")
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen) -> None:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.children)):
            self.stop(child)


def seed(ecr, lam, iam, events, sqs, ecs, s3) -> dict:
    """A registry with the usual mess; returns the digests the demo refers to."""
    seeded: dict = {}
    for name in ["shop/web", "shop/api", "tools/ci-runner"]:
        ecr.create_repository(repositoryName=name)

    # shop/web: six releases, `latest`, and four untagged CI builds.
    for minor in range(6):
        push(ecr, "shop/web", manifest(f"web-1.{minor}"), f"v1.{minor}.0")
    push(ecr, "shop/web", manifest("web-latest"), "latest")
    for build in range(4):
        push(ecr, "shop/web", manifest(f"web-ci-{build}"))

    # shop/api: an old multi-arch release (index + two untagged children), releases,
    # and the image a Lambda function runs.
    children = [(push(ecr, "shop/api", manifest(f"api-0.9-{arch}")), arch) for arch in ("amd64", "arm64")]
    seeded["api_index"] = push(
        ecr, "shop/api", index_manifest(children), "v0.9.0",
        media_type="application/vnd.docker.distribution.manifest.list.v2+json",
    )
    seeded["api_children"] = [digest for digest, _ in children]
    seeded["api_in_use"] = push(ecr, "shop/api", manifest("api-1.0"), "v1.0.0")
    for minor in range(3):
        push(ecr, "shop/api", manifest(f"api-2.{minor}"), f"v2.{minor}.0")
    # The newest release is multi-arch too: an index the policy keeps, with its children.
    new_children = [(push(ecr, "shop/api", manifest(f"api-2.3-{arch}")), arch) for arch in ("amd64", "arm64")]
    seeded["api_kept_index"] = push(
        ecr, "shop/api", index_manifest(new_children), "v2.3.0",
        media_type="application/vnd.docker.distribution.manifest.list.v2+json",
    )
    seeded["api_kept_children"] = [digest for digest, _ in new_children]
    role = iam.create_role(
        RoleName="demo-payments", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }),
    )["Role"]["Arn"]
    lam.create_function(
        FunctionName="payments", PackageType="Image", Role=role,
        Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/api:v1.0.0"},
    )

    # An ECS service scaled to zero still starts shop/web:v1.1.0 when scaled up again.
    seeded["web_service_image"] = next(d for d, tags in tags_of(ecr, "shop/web").items() if "v1.1.0" in tags)
    ecs.create_cluster(clusterName="shop")
    web = ecs.register_task_definition(family="web", containerDefinitions=[{
        "name": "web", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/web:v1.1.0", "memory": 512,
    }])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="shop", serviceName="web-canary", taskDefinition=web, desiredCount=0)
    # The CronJob in cluster "prod" runs shop/api:v2.0.0 every night: the list a
    # CronJob like infra/kubernetes/in-use-publisher.yaml publishes.
    seeded["api_cron_image"] = next(d for d, tags in tags_of(ecr, "shop/api").items() if "v2.0.0" in tags)
    s3.create_bucket(Bucket="demo-in-use")
    s3.put_object(Bucket="demo-in-use", Key="k8s/prod.json", Body=json.dumps({
        "apiVersion": "v1", "kind": "List", "items": [{
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "reindex", "namespace": "search"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "reindex", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/api:v2.0.0"}],
            }}}}},
        }],
    }).encode())

    # tools/ci-runner: not covered by any rule in the configuration.
    push(ecr, "tools/ci-runner", manifest("runner"), "2024-01-01")

    # The janitor's bus, with an SQS queue capturing everything the janitor emits.
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="janitor-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture-janitor", EventBusName=BUS, EventPattern=json.dumps({"source": ["ecr-janitor"]}))
    events.put_targets(Rule="capture-janitor", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    seeded["queue_url"] = queue_url
    return seeded


def drain(sqs, queue_url: str) -> list[dict]:
    """Every event captured on the janitor's bus since the last call."""
    received = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return received
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def event_from_sample(name: str, **detail_overrides) -> dict:
    event = json.loads((EVENTS / name).read_text())
    event = copy.deepcopy(event)
    event["account"] = ACCOUNT
    event["region"] = REGION
    event["detail"].update(detail_overrides)
    return event


def invoke(function: str, event: dict, port: int, env: dict[str, str], workdir: Path) -> dict:
    data = workdir / f"{function}-event.json"
    data.write_text(json.dumps(event))
    result = subprocess.run(
        [str(VENV_BIN / "cargo-lambda"), "lambda", "invoke", function, "-A", "127.0.0.1", "-P", str(port),
         "--data-file", str(data)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"invoking {function} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def tags_of(ecr, repository: str) -> dict[str, list[str]]:
    details = ecr.describe_images(repositoryName=repository)["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


def show_json(value) -> None:
    text = json.dumps(value, indent=2, sort_keys=True)
    lines = text.splitlines()
    for line in lines[:60]:
        say(f"    {line}")
    if len(lines) > 60:
        say(f"    ... ({len(lines) - 60} more lines)")


class Checks:
    """What the demo promises; a broken promise makes the demo exit non-zero."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def expect(self, condition: bool, promise: str) -> None:
        say(f"  {'ok' if condition else 'FAILED'}: {promise}")
        if not condition:
            self.failed.append(promise)


CHECKS = Checks()


def show_sweep(result: dict) -> None:
    """One line per repository from the sweeper's answer."""
    for repo in result.get("repositories", []):
        rules = ", ".join(f"rule {r['rulePriority']} {r['action']}s {r['images']}" for r in repo.get("byRule", []))
        protected = ", ".join(f"{count} {reason}" for reason, count in sorted(repo.get("protected", {}).items()))
        mode = "dry-run: planned" if repo.get("dryRun") else "enforced: expired"
        done = repo.get("plannedExpire") if repo.get("dryRun") else repo.get("expired")
        say(f"  {repo['repositoryName']}: {repo.get('images')} images; {mode} {done}"
            f" ({rules or 'nothing'}); {repo.get('plannedBytes', 0)} bytes"
            f"; protected: {protected or 'none'}"
            + (f"; SAFETY CAP: {repo['capTripped']}" if repo.get("capTripped") else "")
            + (f"; SKIPPED: {repo['skipped']}" if repo.get("skipped") else "")
            + ("; OUT OF TIME: continued" if repo.get("continued") else "")
            + (f"; IN USE UNKNOWN: {repo['inUseUnknown']}" if repo.get("inUseUnknown") else "")
            + (f"; ERROR: {repo['error']}" if repo.get("error") else ""))


def main() -> int:
    processes = Processes()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="ecr-janitor-demo-"))
    try:
        return run(processes, workdir)
    except KeyboardInterrupt:
        say("\ninterrupted: stopping everything the demo started")
        return 130
    finally:
        processes.stop_all()


def run(processes: Processes, workdir: Path) -> int:
    heading("1. Starting moto server, the embedded AWS")
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws_env = {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1",
    }
    processes.start([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                    {**os.environ, **aws_env}, workdir / "moto.log")
    wait_http(f"{endpoint}/moto-api/", "moto server")
    say(f"  moto server on {endpoint} (log: {workdir / 'moto.log'})")
    clients = {name: boto3.client(name, endpoint_url=endpoint, region_name=REGION,
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
               for name in ["ecr", "lambda", "iam", "events", "sqs", "securityhub", "ecs", "s3"]}
    ecr = clients["ecr"]

    heading("2. Seeding a registry")
    seeded = seed(ecr, clients["lambda"], clients["iam"], clients["events"], clients["sqs"],
                  clients["ecs"], clients["s3"])
    for repository in ["shop/web", "shop/api", "tools/ci-runner"]:
        images = tags_of(ecr, repository)
        tagged = sorted(t for tags in images.values() for t in tags)
        untagged = sum(1 for tags in images.values() if not tags)
        say(f"  {repository}: {len(images)} images; tags {', '.join(tagged)}; {untagged} untagged")
    say("  Lambda function 'payments' runs shop/api:v1.0.0; shop/api:v0.9.0 and v2.3.0 are multi-arch"
        " indexes with 2 children each")
    say("  ECS service shop/web-canary (desired count 0) runs shop/web:v1.1.0;"
        " a Kubernetes CronJob listed in s3://demo-in-use/k8s/prod.json runs shop/api:v2.0.0")

    lambda_port = free_port()
    base_env = {**os.environ, **aws_env, "JANITOR_BUS_NAME": BUS, "RUST_LOG": "info"}

    # cargo lambda watch serves the Lambda runtime API; the functions are the binaries
    # scripts/demo.sh built, started here as Lambda would start them. (Left to itself,
    # watch would `cargo run` each function, rebuilding it with that one package's
    # feature set.)
    processes.start(
        [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--only-lambda-apis",
         "-A", "127.0.0.1", "-P", str(lambda_port)],
        base_env, workdir / "watch.log",
    )
    wait_port(lambda_port, "cargo lambda watch")

    def start_functions(config: Path) -> list[subprocess.Popen]:
        started = []
        for function in FUNCTIONS:
            env = {**base_env, "JANITOR_CONFIG_FILE": str(config),
                   "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "1",
                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                   "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{lambda_port}/.rt/{function}"}
            started.append(processes.start([str(ROOT / "target" / "debug" / function)], env,
                                           workdir / f"{function}-{config.stem}.log"))
        return started

    heading("3. Starting the three functions under `cargo lambda watch` (dry-run configuration)")
    functions = start_functions(DEMO / "config.dry-run.json")
    say(f"  runtime emulator on 127.0.0.1:{lambda_port}; configuration {DEMO / 'config.dry-run.json'}")

    heading("4. A push of the forbidden tag `latest` to shop/web -> tag-enforcer")
    latest_digest = next(d for d, tags in tags_of(ecr, "shop/web").items() if "latest" in tags)
    push_event = event_from_sample("ecr-image-action-push-success.json",
                                   **{"repository-name": "shop/web", "image-digest": latest_digest,
                                      "image-tag": "latest"})
    result = invoke("tag-enforcer", push_event, lambda_port, base_env, workdir)
    show_json(result)
    remaining = tags_of(ecr, "shop/web")
    CHECKS.expect(not any("latest" in tags for tags in remaining.values()),
                  "`latest` removed from shop/web; it was the image's only tag, so ECR deleted the image")
    for event in drain(clients["sqs"], seeded["queue_url"]):
        say(f"  event on the janitor bus: {event['detail-type']}: {json.dumps(event['detail'], sort_keys=True)}")

    heading("5. Scan results -> scan-forwarder")
    api_digest = seeded["api_in_use"]
    ecr.start_image_scan(repositoryName="shop/api", imageId={"imageDigest": api_digest})
    seed_scan_findings(endpoint, "shop/api", api_digest, [
        scan_finding("CVE-2023-0464", "HIGH", "openssl", "1.1.1k", "7.5"),
        scan_finding("CVE-2022-40674", "MEDIUM", "expat", "2.2.10", "6.5"),
        scan_finding("CVE-2021-3999", "LOW", "glibc", "2.31", "3.3"),
    ])
    basic = event_from_sample("ecr-image-scan-basic-complete.json",
                              **{"repository-name": "shop/api", "image-digest": api_digest,
                                 "image-tags": ["v1.0.0"]})
    say("  basic scan (ECR Image Scan) of shop/api:v1.0.0 with HIGH, MEDIUM and LOW findings"
        " (threshold MEDIUM); findings come from DescribeImageScanFindings:")
    show_json(invoke("scan-forwarder", basic, lambda_port, base_env, workdir))
    inspector = json.loads((EVENTS / "inspector2-finding-ecr-package-vulnerability.json").read_text())
    inspector["account"] = ACCOUNT
    inspector["region"] = REGION
    # About the seeded image, not the sample's own repository (which the demo has not).
    for resource in inspector["detail"]["resources"]:
        image = resource["details"]["awsEcrContainerImage"]
        image.update({"repositoryName": "shop/api", "imageHash": api_digest,
                      "imageTags": ["v1.0.0"], "registry": ACCOUNT})
        resource["id"] = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/api/{api_digest}"
    say("  enhanced scan (Inspector2 Finding) of shop/api:v1.0.0:")
    show_json(invoke("scan-forwarder", inspector, lambda_port, base_env, workdir))
    findings = clients["securityhub"].get_findings()["Findings"]
    say(f"  Security Hub now holds {len(findings)} janitor finding(s):")
    for finding in findings:
        say(f"    [{finding['Severity']['Label']}] {finding['Title']}")
    labels = sorted(finding["Severity"]["Label"] for finding in findings)
    CHECKS.expect(labels == ["HIGH", "MEDIUM", "MEDIUM"],
                  "HIGH and MEDIUM basic-scan findings and the MEDIUM Inspector finding imported; LOW filtered out")
    forwarded = drain(clients["sqs"], seeded["queue_url"])
    say(f"  {len(forwarded)} event(s) on the janitor bus: "
        + ", ".join(sorted({e['detail-type'] for e in forwarded})))
    for event in forwarded[:5]:
        detail = event["detail"]
        say(f"    {detail.get('severity')} {detail.get('vulnerabilityId')} in {detail.get('repository')}"
            f" (fix available: {detail.get('fixAvailable')})")

    scheduled = json.loads((EVENTS / "eventbridge-scheduled-event-rule.json").read_text())
    before = {repo: tags_of(ecr, repo) for repo in ["shop/web", "shop/api"]}

    heading("6. Scheduled sweep, dry-run -> lifecycle-sweeper plans")
    dry_run = invoke("lifecycle-sweeper", scheduled, lambda_port, base_env, workdir)
    show_sweep(dry_run)
    planned = {repo["repositoryName"]: repo.get("plannedExpire", 0) for repo in dry_run.get("repositories", [])}
    say("  the plan for shop/api, image by image (ecr-janitor sweep --format table):")
    table = subprocess.run(
        [str(ROOT / "target" / "debug" / "ecr-janitor"), "sweep", "--repository", "shop/api",
         "--config", str(DEMO / "config.dry-run.json"), "--format", "table"],
        cwd=ROOT, env={**base_env, "RUST_LOG": "warn"}, capture_output=True, text=True, timeout=120,
    )
    for line in table.stdout.splitlines():
        say(f"    {line}")
    CHECKS.expect(table.returncode == 0 and "in use by Lambda function payments" in table.stdout,
                  "the dry-run plan names who holds each protected image")
    say("  what enforce would do, for the whole configuration (ecr-janitor report):")
    janitor = str(ROOT / "target" / "debug" / "ecr-janitor")
    report_args = [janitor, "report", "--config", str(DEMO / "config.dry-run.json")]
    report_run = subprocess.run(
        report_args + ["--format", "json"],
        cwd=ROOT, env=base_env, capture_output=True, text=True, timeout=120,
    )
    report = json.loads(report_run.stdout) if report_run.returncode == 0 else {}
    for repository in report.get("repositories", []):
        say(f"    {repository['repositoryName']}: {repository['images']['images']} images,"
            f" {repository['expire']['images']} to expire ({repository['expire']['bytes']} bytes),"
            f" {repository['protected']['images']} protected")
    reported = {repository["repositoryName"]: repository["expire"]["images"]
                for repository in report.get("repositories", [])}
    CHECKS.expect(reported == planned,
                  f"the report plans exactly what the sweeper's dry run planned: {reported}")
    page = ROOT / "target" / "demo-report.html"
    html_run = subprocess.run(
        report_args + ["--format", "html", "--output", str(page)],
        cwd=ROOT, env=base_env, capture_output=True, text=True, timeout=120,
    )
    CHECKS.expect(html_run.returncode == 0 and page.is_file(),
                  f"the report as one HTML page: {page.relative_to(ROOT)}")
    after = {repo: tags_of(ecr, repo) for repo in ["shop/web", "shop/api"]}
    CHECKS.expect(before == after, "the dry-run changed nothing in the registry")
    drain(clients["sqs"], seeded["queue_url"])

    heading("7. Scheduled sweep, enforce -> lifecycle-sweeper deletes the plan")
    for function in functions:
        processes.stop(function)
    start_functions(DEMO / "config.enforce.json")
    enforced = invoke("lifecycle-sweeper", scheduled, lambda_port, base_env, workdir)
    show_sweep(enforced)
    done = {repo["repositoryName"]: repo.get("expired", 0) for repo in enforced.get("repositories", [])}
    CHECKS.expect(enforced.get("complete") is True and planned == done and all(planned.values()),
                  f"the enforced sweep completed and expired exactly what the dry run planned: {done}")
    for repo in ["shop/web", "shop/api"]:
        now = tags_of(ecr, repo)
        gone = {d: t for d, t in before[repo].items() if d not in now}
        say(f"  {repo}: {len(gone)} image(s) expired, {len(now)} kept")
        for digest, tags in sorted(gone.items(), key=lambda item: item[1]):
            say(f"    expired {digest[:19]}... {', '.join(tags) or '(untagged)'}")
    api_now = tags_of(ecr, "shop/api")
    CHECKS.expect(seeded["api_in_use"] in api_now,
                  "shop/api:v1.0.0, run by the Lambda function 'payments', was kept although rule 1 selects it")
    CHECKS.expect(seeded["api_cron_image"] in api_now,
                  "shop/api:v2.0.0, run by a Kubernetes CronJob (kubectl list in S3), was kept although rule 1 selects it")
    CHECKS.expect(seeded["web_service_image"] in tags_of(ecr, "shop/web"),
                  "shop/web:v1.1.0, run by an ECS service scaled to zero, was kept although rule 1 selects it")
    CHECKS.expect(seeded["api_kept_index"] in api_now
                  and all(child in api_now for child in seeded["api_kept_children"]),
                  "the newest multi-arch release, shop/api:v2.3.0, was kept whole: its index and both children")
    CHECKS.expect(seeded["api_index"] not in api_now
                  and not any(child in api_now for child in seeded["api_children"]),
                  "the old multi-arch release, shop/api:v0.9.0, expired whole: rule 1 took its index,"
                  " rule 2 its two untagged children")
    summaries = [e for e in drain(clients["sqs"], seeded["queue_url"]) if e["detail-type"] == "Sweep Completed"]
    CHECKS.expect(len(summaries) == 2, "one `Sweep Completed` event per swept repository on the janitor bus")

    heading("Done: every process the demo started is being stopped")
    if CHECKS.failed:
        say(f"{len(CHECKS.failed)} demo check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
