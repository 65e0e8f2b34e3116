"""Runs the README's "Local development" block as a user types it, and checks it.

The block is read from README.md at run time, so the README cannot drift from what
works. Each command runs in one bash, in order, with its exit status recorded; then:
- every command exited 0,
- the block invokes each function with each sample event the local flow is for, and the
  result of each invoke is exactly the one expected,
- cargo lambda watch compiled nothing (it reused the build `make local` made),
- nothing the flow started is left running (the block ends with `make local-stop`; this
  script stops the flow again in any case, also after a failure or a timeout).

`make local` picks free ports here (LOCAL_MOTO_PORT, LOCAL_LAMBDA_PORT) so that a
developer's own moto or watch on 5000/9000 is never touched; the flow's state lives in
target/local/, so a `make local` session of the same checkout is stopped by this test.
Run by scripts/test.sh; alone: `.venv/bin/python scripts/readme_local_test.py`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local import running  # noqa: E402
from localaws import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "target" / "local"
# The first `make local` builds the functions: minutes on a cold target/.
TIMEOUT_SECONDS = int(os.environ.get("README_TEST_TIMEOUT", "1800"))
MARKER = "@@readme-command"

DIGEST = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"


def sweep_projection(result: dict) -> dict:
    """What a dry-run sweep decided, without the fields that are empty here."""
    return {
        "trigger": result["trigger"],
        "complete": result["complete"],
        "repositoriesSelected": result["repositoriesSelected"],
        "fannedOut": result["fannedOut"],
        "eventFailures": result["eventFailures"],
        "repositories": [
            {key: repository[key] for key in [
                "repositoryName", "complete", "dryRun", "images", "byRule", "plannedExpire",
                "plannedTransition", "plannedBytes", "expired", "transitioned", "bytesFreed",
                "protected", "capTripped", "inUseUnknown", "skipped", "failureCount", "error"]}
            for repository in result["repositories"]
        ],
    }


def no_rule_sweep(name: str, images: int) -> dict:
    return {"repositoryName": name, "complete": True, "dryRun": True, "images": images, "byRule": [],
            "plannedExpire": 0, "plannedTransition": 0, "plannedBytes": 0, "expired": 0,
            "transitioned": 0, "bytesFreed": 0, "protected": {}, "capTripped": None,
            "inUseUnknown": None, "skipped": None, "failureCount": 0, "error": None}


# (function, sample event) -> (what to compare, the expected value).
EXPECTED = {
    ("tag-enforcer", "ecr-image-action-push-success.json"): (lambda result: result, {
        "outcome": "violation", "repositoryName": "my-repository-name", "imageDigest": DIGEST,
        "imageTag": "latest", "rule": "tagRules.rules[0]", "violation": "forbidden", "pattern": "latest",
        "action": "report", "actionTaken": "reported",
    }),
    ("scan-forwarder", "ecr-image-scan-basic-complete.json"): (lambda result: result, {
        "event": "basic-scan", "findings": 4, "duplicates": 0, "belowThreshold": 1, "suppressed": 1,
        "forwarded": 2, "published": 2, "imported": 2, "failedEvents": [], "failedImports": [],
    }),
    ("scan-forwarder", "inspector2-finding-ecr-package-vulnerability.json"): (lambda result: result, {
        "event": "enhanced-finding", "findings": 1, "duplicates": 0, "belowThreshold": 0, "suppressed": 0,
        "forwarded": 1, "published": 1, "imported": 0, "failedEvents": [], "failedImports": [],
    }),
    ("lifecycle-sweeper", "eventbridge-scheduled-event-rule.json"): (sweep_projection, {
        "trigger": {"type": "scheduled"}, "complete": True, "repositoriesSelected": 2, "fannedOut": 0,
        "eventFailures": [],
        "repositories": [
            {**no_rule_sweep("my-repository-name", 6),
             "byRule": [{"action": "expire", "bytes": 2938, "images": 2, "rulePriority": 1},
                        {"action": "expire", "bytes": 1469, "images": 1, "rulePriority": 2}],
             "plannedExpire": 3, "plannedBytes": 4407},
            no_rule_sweep("amazon/amazon-ecs-sample", 1),
        ],
    }),
}

INVOKE = re.compile(r"cargo lambda invoke (\S+) .*--data-file (\S+)")


def readme_block() -> list[str]:
    """The commands of the first ```sh block under "## Local development", each with
    its continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Local development\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    assert not pending, "the block ends in a continued line"
    return [command for command in commands if command.strip() and not command.lstrip().startswith("#")]


def script_of(commands: list[str]) -> str:
    lines = [f'cd "{ROOT}"']
    for number, command in enumerate(commands):
        lines += [f'printf "\\n{MARKER} begin {number}\\n"', command,
                  f'printf "\\n{MARKER} end {number} %s\\n" "$?"']
    return "\n".join(lines) + "\n"


def split_output(output: str, count: int) -> list[tuple[int | None, str]]:
    """Per command: its exit status (None: it never finished) and its output."""
    results: list[tuple[int | None, str]] = [(None, "") for _ in range(count)]
    current, collected = None, []
    for line in output.splitlines():
        if line.startswith(MARKER):
            _, kind, number, *status = line.split()
            if kind == "begin":
                current, collected = int(number), []
            else:
                results[int(number)] = (int(status[0]), "\n".join(collected))
                current = None
        elif current is not None:
            collected.append(line)
    if current is not None:
        results[current] = (None, "\n".join(collected))
    return results


def sessions_started() -> dict[str, int]:
    processes = STATE / "processes.json"
    return json.loads(processes.read_text()) if processes.exists() else {}


def run_block(commands: list[str]) -> tuple[list[tuple[int | None, str]], set[int], bool]:
    """Runs the block; returns each command's outcome, every session it started and
    whether it ran out of time (then it was killed)."""
    env = {**os.environ, "LOCAL_MOTO_PORT": str(free_port()), "LOCAL_LAMBDA_PORT": str(free_port())}
    env.pop("LAMBDA_PORT", None)
    sessions: set[int] = set()
    output: list[str] = []
    timed_out = threading.Event()
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
        script.write(script_of(commands))
    shell = subprocess.Popen(["bash", script.name], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    watchdog = threading.Timer(TIMEOUT_SECONDS, kill)
    watchdog.start()
    try:
        assert shell.stdout is not None
        for line in shell.stdout:
            output.append(line)
            print(line, end="", flush=True)
            # Recorded while the block runs: its last command stops them.
            sessions.update(sessions_started().values())
        shell.wait()
    except BaseException:
        kill()
        raise
    finally:
        watchdog.cancel()
        os.unlink(script.name)
        sessions.update(sessions_started().values())
        # Whatever the block did or failed to do: nothing of the flow stays running.
        subprocess.run(["make", "--no-print-directory", "local-stop"], cwd=ROOT, check=False)
    return split_output("".join(output), len(commands)), sessions, timed_out.is_set()


def main() -> int:
    commands = readme_block()
    print(f"== the README's Local development block: {len(commands)} commands", flush=True)
    outcomes, sessions, timed_out = run_block(commands)
    problems: list[str] = []
    if timed_out:
        problems.append(f"the block did not finish within {TIMEOUT_SECONDS}s (README_TEST_TIMEOUT) and was killed")
    invoked = {(match.group(1), Path(match.group(2)).name)
               for match in map(INVOKE.search, commands) if match}
    for command, (status, output) in zip(commands, outcomes):
        if status is None:
            problems.append(f"`{command}` did not run to its end:\n{output[-3000:]}")
            break
        if status != 0:
            problems.append(f"`{command}` exited {status}:\n{output[-3000:]}")
            continue
        invoke = INVOKE.search(command)
        if not invoke:
            continue
        key = (invoke.group(1), Path(invoke.group(2)).name)
        if key not in EXPECTED:
            problems.append(f"`{command}`: no expected result for {key}: add it to this test")
            continue
        project, expected = EXPECTED[key]
        try:
            result = json.loads(output.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            problems.append(f"`{command}` printed no JSON result:\n{output[-3000:]}")
            continue
        if project(result) != expected:
            problems.append(f"`{command}`:\n  expected {json.dumps(expected, sort_keys=True)}\n"
                            f"  got      {json.dumps(project(result), sort_keys=True)}")
    for missing in sorted(set(EXPECTED) - invoked):
        problems.append(f"the block no longer invokes {missing[0]} with {missing[1]}")
    watch_log = STATE / "watch.log"
    if watch_log.exists() and "Compiling " in watch_log.read_text():
        problems.append(f"cargo lambda watch compiled instead of reusing make local's build: see {watch_log}")
    if not sessions:
        problems.append("the block started no moto server or cargo lambda watch")
    left = [session for session in sessions if running(session)]
    if left:
        problems.append(f"processes of sessions {left} are still running")
    for problem in problems:
        print(f"FAILED: {problem}", flush=True)
    if not problems:
        print(f"== ok: {len(commands)} commands, {len(invoked)} invokes with the expected results,"
              " no compile under watch, nothing left running", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
