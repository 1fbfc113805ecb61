"""Entry point of the container image: one image, the process chosen by the command.

    python -m deploy.container gateway          # or directory, needs, surveys, notifications, ...
    python -m deploy.container seed-demo        # demo data (idempotent), a one-shot job
    python -m deploy.container import-organisations /data/gv.csv
    python -m deploy.container mailbox          # development mail sink for a trial stack
    python -m deploy.container --health         # the image's HEALTHCHECK

Services are found like the local launcher finds them (every `services.<name>` package with a
`__main__.py`), so a new service runs from the same image without touching this file. The
chosen process replaces this one (exec), so signals from the container runtime reach it directly.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USAGE = "usage: python -m deploy.container <process> [args...] | --health"


def processes(root: Path = ROOT) -> dict[str, list[str]]:
    """The commands the image runs, by name, as argv after the Python interpreter."""
    found = sorted(p.parent.name for p in (root / "services").glob("*/__main__.py"))
    table: dict[str, list[str]] = {"gateway": ["-m", "gateway"]}
    table.update({name: ["-m", f"services.{name}"] for name in found})
    table["seed-demo"] = ["-m", "services.directory.cli", "seed-demo"]
    table["import-organisations"] = ["-m", "services.directory.cli", "import-organisations"]
    table["mailbox"] = ["-m", "deploy.mailbox", "--host", "0.0.0.0", "--port", "2525", "--dir", "/data/mail"]
    return table


def health_urls(env: Mapping[str, str]) -> list[str]:
    """Where a process of this image answers `/healthz`: a service on METRICS_PORT, the gateway on
    GATEWAY_PORT. A health check runs as its own command beside the process and does not know
    which one it is, so it asks both; the port nobody listens on is refused at once."""
    urls = []
    metrics_port = env.get("METRICS_PORT") or "0"
    if metrics_port != "0":
        urls.append(f"http://127.0.0.1:{metrics_port}/healthz")
    urls.append(f"http://127.0.0.1:{env.get('GATEWAY_PORT') or '8000'}/healthz")
    return urls


def check_health(env: Mapping[str, str]) -> int:
    problems = []
    for url in health_urls(env):
        try:
            with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - loopback URL
                if response.status == 200:
                    return 0
                problems.append(f"{url}: HTTP {response.status}")
        except OSError as exc:
            problems.append(f"{url}: {exc}")
    print("unhealthy: " + "; ".join(problems), file=sys.stderr)
    return 1


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        print("processes: " + ", ".join(processes()))
        return 0 if argv else 2
    if argv[0] == "--health":
        return check_health(os.environ)
    table = processes()
    name, *rest = argv
    if name not in table:
        print(f"unknown process {name!r}; one of: {', '.join(table)}", file=sys.stderr)
        return 2
    args = [sys.executable, *table[name], *rest]
    os.execv(sys.executable, args)  # noqa: S606 - argv from the fixed table above
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
