"""The local flow (`make local`, `make local-stop`): the three functions under
`cargo lambda watch`, against moto server, for the sample events in tests/events/.

`start` (run by scripts/local.sh once the functions are built):
1. stops what a previous `start` left running,
2. starts moto server on 127.0.0.1:5000 (or a free port, printed),
3. creates the janitor bus `janitor` and seeds the repositories the sample events name:
   `my-repository-name` (releases, the pushed image tagged `latest` under the sample's
   digest, with scan results for the basic-scan sample, untagged builds) and
   `amazon/amazon-ecs-sample` (the image of the Inspector sample),
4. starts `cargo lambda watch` on 127.0.0.1:9000 (or a free port, printed) with the
   configuration in scripts/local/config.json; it runs each function with `cargo run`
   on its first invocation, which finds the binaries scripts/local.sh built up to date,
5. writes target/local/env (PATH, the AWS_* variables pointing at moto, LAMBDA_PORT)
   and returns, leaving both servers running; their logs are in target/local/.

`stop` stops them. Ports can be chosen with LOCAL_MOTO_PORT and LOCAL_LAMBDA_PORT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from localaws import (ACCOUNT, REGION, free_port, manifest, port_is_free, push, scan_finding,
                      seed_scan_findings, wait_http, wait_port)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
EVENTS = ROOT / "tests" / "events"
CONFIG = ROOT / "scripts" / "local" / "config.json"
STATE = ROOT / "target" / "local"
PROCESSES = STATE / "processes.json"
BUS = "janitor"


def say(text: str) -> None:
    print(text, flush=True)


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def choose_port(variable: str, preferred: int) -> int:
    if os.environ.get(variable):
        return int(os.environ[variable])
    return preferred if port_is_free(preferred) else free_port()


def start_detached(args: list[str], env: dict[str, str], log: Path) -> int:
    """Starts a server in a session of its own, so that it outlives this script and
    `stop` can end it with everything it started; returns its session id (its pid)."""
    with open(log, "wb") as handle:
        child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
    return child.pid


def session_members(session: int) -> list[int]:
    """The processes of a session. A server's children may leave its process group
    (watch runs each function in a group of its own), not its session. Linux only:
    elsewhere this sees none, and `stop` relies on the server ending its children."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command name: state, ppid, pgrp, session, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # A zombie has ended; its parent has yet to collect it.
        if len(fields) > 3 and fields[3] == str(session) and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def signal_session(session: int, signum: int) -> None:
    for pid in {session, *session_members(session)}:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def stop() -> None:
    """Stops what `start` left running: SIGTERM to each server (watch then stops the
    functions), SIGKILL after 10 s to whatever of its session is left."""
    if not PROCESSES.exists():
        return
    sessions: dict[str, int] = json.loads(PROCESSES.read_text())
    for name, session in sessions.items():
        try:
            os.kill(session, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.time() + 10
        while time.time() < deadline and running(session):
            time.sleep(0.2)
        signal_session(session, signal.SIGKILL)
        say(f"stopped {name} (session {session})")
    PROCESSES.unlink()


def running(session: int) -> bool:
    if Path("/proc/self/stat").exists():
        return bool(session_members(session))
    try:
        os.kill(session, 0)
    except ProcessLookupError:
        return False
    return True


def seed(endpoint: str) -> None:
    """The bus the functions publish to, and the images the sample events are about."""
    clients = {name: boto3.client(name, endpoint_url=endpoint, region_name=REGION,
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
               for name in ["ecr", "events"]}
    ecr = clients["ecr"]
    clients["events"].create_event_bus(Name=BUS)

    push_event = sample("ecr-image-action-push-success.json")["detail"]
    scan_event = sample("ecr-image-scan-basic-complete.json")["detail"]
    repository = push_event["repository-name"]
    assert scan_event["repository-name"] == repository
    assert scan_event["image-digest"] == push_event["image-digest"]
    ecr.create_repository(repositoryName=repository)
    for minor in range(3):
        push(ecr, repository, manifest(f"release-1.{minor}"), f"v1.{minor}.0")
    # The pushed image of the samples: the newest release, also tagged `latest` (the
    # push the tag-enforcer judges), with the findings of a basic scan.
    newest = manifest("release-1.3")
    push(ecr, repository, newest, "v1.3.0", digest=push_event["image-digest"])
    push(ecr, repository, newest, push_event["image-tag"], digest=push_event["image-digest"])
    for build in range(2):
        push(ecr, repository, manifest(f"ci-build-{build}"))
    ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": scan_event["image-digest"]})
    seed_scan_findings(endpoint, repository, scan_event["image-digest"], [
        scan_finding("CVE-2023-38545", "CRITICAL", "curl", "7.88.1", "9.8"),
        scan_finding("CVE-2023-0464", "HIGH", "openssl", "1.1.1k", "7.5"),
        scan_finding("CVE-2022-40674", "MEDIUM", "expat", "2.2.10", "6.5"),
        scan_finding("CVE-2021-3999", "LOW", "glibc", "2.31", "3.3"),
    ])

    inspector = sample("inspector2-finding-ecr-package-vulnerability.json")["detail"]
    image = inspector["resources"][0]["details"]["awsEcrContainerImage"]
    ecr.create_repository(repositoryName=image["repositoryName"])
    push(ecr, image["repositoryName"], manifest("ecs-sample"), image["imageTags"][0], digest=image["imageHash"])

    for name in [repository, image["repositoryName"]]:
        details = ecr.describe_images(repositoryName=name)["imageDetails"]
        tags = sorted(tag for detail in details for tag in detail.get("imageTags", []))
        untagged = sum(1 for detail in details if not detail.get("imageTags"))
        say(f"  {name}: {len(details)} images; tags {', '.join(tags)}; {untagged} untagged")


def start() -> int:
    stop()
    STATE.mkdir(parents=True, exist_ok=True)
    moto_port = choose_port("LOCAL_MOTO_PORT", 5000)
    lambda_port = choose_port("LOCAL_LAMBDA_PORT", 9000)
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws_env = {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
    }
    sessions: dict[str, int] = {}
    try:
        say(f"== moto server on {endpoint} (log: {STATE / 'moto.log'})")
        sessions["moto server"] = start_detached(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            {**os.environ, **aws_env}, STATE / "moto.log")
        PROCESSES.write_text(json.dumps(sessions))
        wait_http(f"{endpoint}/moto-api/", "moto server")

        say(f"== event bus {BUS}, and the repositories the sample events in tests/events/ name")
        seed(endpoint)

        say(f"== cargo lambda watch on 127.0.0.1:{lambda_port} (log: {STATE / 'watch.log'})")
        # The functions' environment. watch runs each one with `cargo run --bin NAME`,
        # which finds it built by scripts/local.sh: same profile, target directory and
        # features (those of the function's own package).
        function_env = {**os.environ, **aws_env, "JANITOR_CONFIG_FILE": str(CONFIG),
                        "JANITOR_BUS_NAME": BUS, "RUST_LOG": "info",
                        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        sessions["cargo lambda watch"] = start_detached(
            [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "-A", "127.0.0.1", "-P", str(lambda_port)],
            function_env, STATE / "watch.log")
        PROCESSES.write_text(json.dumps(sessions))
        wait_port(lambda_port, "cargo lambda watch")
    except BaseException:
        stop()
        raise

    (STATE / "env").write_text(
        f'export PATH="{VENV_BIN}:$PATH"\n'
        + "".join(f"export {name}={value}\n" for name, value in aws_env.items())
        + f"export LAMBDA_PORT={lambda_port}\n")
    say(f"""== ready
  functions: tag-enforcer, scan-forwarder, lifecycle-sweeper at 127.0.0.1:{lambda_port}
  configuration: {CONFIG.relative_to(ROOT)} (dry-run sweeps, `latest` reported, threshold MEDIUM)
  `. target/local/env` sets PATH, LAMBDA_PORT and the AWS_* variables (account {ACCOUNT},
  {REGION}) for cargo lambda invoke, the ecr-janitor CLI or boto3 against moto;
  `make local-stop` stops both servers, `make local` starts afresh.""")
    return 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "start":
        return start()
    if command == "stop":
        stop()
        return 0
    print("usage: local.py start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
