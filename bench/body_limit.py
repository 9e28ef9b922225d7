"""Six concurrent 150 MB bodies without a token against `firewatch api`: the API process's
RSS growth (target <= 50 MB) and that each is answered 413 without being read whole.

Two rounds per run: bodies that declare their Content-Length (refused before a byte is read)
and chunked ones (counted as they arrive and cut off at the limit). The baseline is what the
process would hold if it read the bodies whole (6 x 150 MB), as it did before issue 14.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import threading
import time

import httpx2

from bench.results import Figure, record, rss_mb
from firewatch.testing import free_port, own_database, wait_until

CLIENTS = 6
BODY_BYTES = 150 * 1000 * 1000
PIECE = b"x" * (1 << 20)


def _attack(port: int, *, chunked: bool, answers: list[tuple[int, int]]) -> None:
    """Sends one oversize body until the server answers; records (status, bytes sent)."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"
    head = (
        f"POST /api/v1/devices HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    piece = b"%x\r\n" % len(PIECE) + PIECE + b"\r\n" if chunked else PIECE
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        try:
            while sent < BODY_BYTES:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(piece)
                sent += len(PIECE)
        except OSError:  # the server closed its side after answering
            pass
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    answers.append((status, sent))


def _round(port: int, pid: int, *, chunked: bool) -> tuple[float, list[tuple[int, int]]]:
    """RSS growth in MB (peak while under attack minus before) and each client's answer."""
    before = rss_mb(pid, "VmRSS")
    peak, answers = before, list[tuple[int, int]]()
    threads = [
        threading.Thread(
            target=_attack, args=(port,), kwargs={"chunked": chunked, "answers": answers}
        )
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mb(pid, "VmRSS"))
        time.sleep(0.01)
    return peak - before, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    growth: dict[str, list[float]] = {"declared": [], "chunked": []}
    refused_all = True
    with own_database("fw_bench_body") as url:
        port = free_port()
        env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": url,
            "FIREWATCH_API_PORT": str(port),
            "FIREWATCH_LOG_FORMAT": "json",
        }
        server = subprocess.Popen(
            [sys.executable, "-c", "from firewatch.cli import main; main()", "api"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: _up(port), timeout=30, what="firewatch api")
            for run in range(args.runs):
                for mode, values in growth.items():
                    mb, answers = _round(port, server.pid, chunked=mode == "chunked")
                    values.append(mb)
                    statuses = sorted({s for s, _ in answers})
                    most = max(sent for _, sent in answers) / 1e6
                    refused_all &= statuses == [413]
                    print(
                        f"run {run + 1} {mode}: RSS +{mb:.1f} MB, answers {statuses}, "
                        f"at most {most:.0f} MB sent of {BODY_BYTES / 1e6:.0f}"
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)
    figures = []
    for mode, values in growth.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{mode}: median RSS growth {median:.1f} MB (runs {runs})")
        figures.append(
            Figure(
                name=f"RSS growth, {CLIENTS} x 150 MB unauthenticated bodies, {mode}",
                value=round(median, 1),
                unit="MB",
                target="<= 50 MB",
                met=median <= 50,
                baseline="the bodies read whole (900 MB)",
                ratio=round(median / 900, 4),
            )
        )
    figures.append(
        Figure(
            name="every body answered 413",
            value=float(refused_all),
            unit="bool",
            target="all",
            met=refused_all,
        )
    )
    print(f"wrote {record('body_limit', figures, note=f'median of {args.runs} runs')}")


def _up(port: int) -> bool:
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


if __name__ == "__main__":
    main()
