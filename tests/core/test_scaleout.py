"""Many processes on one PostgreSQL store: real `destkit serve` and `destkit worker` processes,
events for the same people spread over every front door, one process killed midway and started
again. Every event answered 200 is delivered; each person's events reach the destination in the
order they were accepted; duplicates stay within what a killed process can have had in flight."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx

from destkit.state.commits import DEFAULT_LIMIT
from destkit.testing import LoopbackServer, RecordedRequest, Reply
from tests.postgres import PostgresServer
from tests.processes import DESTKIT, Running, children_of, free_port, wait_for_exit

KEY = "wk-scale-0123456789"
CONCURRENCY = 8
PEOPLE = 24
EVENTS_EACH = 20
#: What a killed process can have sent and not recorded: its deliveries in flight, and one commit group.
RESEND_BOUND = CONCURRENCY + DEFAULT_LIMIT


class Sink:
    """The destination: a webhook on loopback that records every event it receives, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, int]] = []  # (person, n) in arrival order
        self.server = LoopbackServer(self.handle, record=False)

    def handle(self, request: RecordedRequest) -> Reply:
        event = request.json()
        with self.lock:
            self.received.append((event["userId"], event["properties"]["n"]))
        return Reply(200, {"ok": True})

    def delivered(self) -> set[tuple[str, int]]:
        with self.lock:
            return set(self.received)


def write_config(folder: Path, url: str) -> Path:
    config = {
        "serve": {"write_keys": [KEY]},
        "runtime": {"concurrency": CONCURRENCY},
        "state": {"lease_seconds": 3},
        "destinations": [{"name": "hook", "type": "webhook", "settings": {"url": url}}],
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


def send_everything(doors: list[Running], midway: Callable[[], None]) -> set[tuple[str, int]]:
    """Each person's events one after another, round-robin over the front doors (as a load
    balancer would, passing over a door that does not answer); ``midway`` runs when half of
    all events are accepted. Returns what was answered 200."""
    accepted: set[tuple[str, int]] = set()
    half = PEOPLE * EVENTS_EACH // 2

    async def person(client: httpx.AsyncClient, p: int) -> None:
        for n in range(EVENTS_EACH):
            body = {"userId": f"person-{p}", "event": "Step", "properties": {"n": n}}
            for attempt in range(40):
                door = doors[(p + n + attempt) % len(doors)]
                try:
                    answer = await client.post(f"{door.url}/v1/track", json=body, auth=(KEY, ""))
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
                    continue
                if answer.status_code == 200:
                    break
            else:
                raise AssertionError(f"no front door took person-{p}'s event {n}")
            accepted.add((f"person-{p}", n))
            if len(accepted) == half:
                await asyncio.to_thread(midway)

    async def everyone() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(person(client, p) for p in range(PEOPLE)))

    asyncio.run(everyone())
    return accepted


def wait_until_delivered(sink: Sink, accepted: set[tuple[str, int]], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if accepted <= sink.delivered():
            return
        time.sleep(0.1)
    missing = sorted(accepted - sink.delivered())
    raise AssertionError(f"{len(missing)} accepted event(s) never delivered, e.g. {missing[:5]}")


def check_order(sink: Sink) -> int:
    """Each person's events arrive in acceptance order (a resend after the kill may repeat some,
    never put a new one before an older one), and their last event arrives last. Returns the
    number of duplicates."""
    by_person: dict[str, list[int]] = defaultdict(list)
    for person, n in sink.received:
        by_person[person].append(n)
    assert len(by_person) == PEOPLE
    for person, seen in by_person.items():
        firsts = [n for i, n in enumerate(seen) if n not in seen[:i]]
        assert firsts == list(range(EVENTS_EACH)), f"{person}'s events arrived out of order: {seen}"
        assert seen[-1] == EVENTS_EACH - 1, f"{person} does not end with their last event: {seen}"
    return len(sink.received) - len(set(sink.received))


def test_three_services_on_one_store_survive_a_kill(tmp_path: Path, postgres: PostgresServer) -> None:
    sink, state = Sink(), postgres.url()
    with sink.server:
        config = write_config(tmp_path, sink.server.url)

        def serve() -> Running:
            port = free_port()
            args = ("serve", "--config", str(config), "--state", state, "--grace", "2")
            return Running(*args, log=tmp_path / f"serve-{port}.log", port=port)

        doors = [serve() for _ in range(3)]

        def kill_and_restart_one() -> None:
            doors[1].kill()
            doors[1] = serve()

        try:
            accepted = send_everything(doors, kill_and_restart_one)
            assert len(accepted) == PEOPLE * EVENTS_EACH
            wait_until_delivered(sink, accepted)
            assert check_order(sink) <= RESEND_BOUND
        finally:
            for door in doors:
                door.stop()


def test_workers_deliver_what_front_doors_accept_and_survive_a_kill(tmp_path: Path, postgres: PostgresServer) -> None:
    sink, state = Sink(), postgres.url()
    with sink.server:
        config = write_config(tmp_path, sink.server.url)
        doors = []
        for n in range(2):
            args = ("serve", "--config", str(config), "--state", state, "--no-worker")
            doors.append(Running(*args, log=tmp_path / f"door-{n}.log", port=free_port()))

        def worker() -> Running:
            args = ("worker", "--config", str(config), "--state", state, "--grace", "2")
            return Running(*args, log=tmp_path / f"worker-{free_port()}.log", ready="delivering")

        workers = [worker() for _ in range(3)]

        def kill_and_restart_a_worker() -> None:
            workers[0].kill()
            workers[0] = worker()

        try:
            accepted = send_everything(doors, kill_and_restart_a_worker)
            wait_until_delivered(sink, accepted)
            assert check_order(sink) <= RESEND_BOUND
            for process in [*doors, *workers]:  # a clean stop: leases given back, no traceback
                assert process.stop() in (143, -15) and "Traceback" not in process.output()
        finally:
            for process in [*doors, *workers]:
                process.stop()


def serve_on_sqlite(folder: Path, sink: Sink, state: str, workers: int) -> Running:
    """``destkit serve --workers N`` on the SQLite file ``state``, delivering to ``sink``."""
    config = write_config(folder, sink.server.url)
    args = ("serve", "--config", str(config), "--state", state, "--workers", str(workers), "--grace", "2")
    return Running(*args, log=folder / "serve.log", port=free_port())


def test_one_service_with_two_delivery_processes_on_sqlite(tmp_path: Path) -> None:
    """destkit serve --workers 2: one process takes the requests (and delivers), another only
    delivers; the SQLite store's partitions share the work out, and a stop stops both."""
    sink, state = Sink(), str(tmp_path / "state.db")
    with sink.server:
        door = serve_on_sqlite(tmp_path, sink, state, workers=2)
        try:
            shares: list[int] = []
            for _ in range(80):  # both processes hold half of the partitions once they have settled
                found = subprocess.run([DESTKIT, "state", "status", "--state", state, "--json"], capture_output=True, text=True)
                shares = sorted(w["partitions"] for w in json.loads(found.stdout)["workers"])
                if shares == [128, 128]:
                    break
                time.sleep(0.25)
            assert shares == [128, 128]
            accepted = send_everything([door], lambda: None)
            wait_until_delivered(sink, accepted)
            check_order(sink)
        finally:
            assert door.stop() in (143, -15) and "Traceback" not in door.output()
        left = subprocess.run(["pgrep", "-f", "destkit-worker|multiprocessing.spawn"], capture_output=True, text=True)
        assert str(door.process.pid) not in left.stdout
        found = subprocess.run([DESTKIT, "state", "status", "--state", state, "--json"], capture_output=True, text=True)
        assert json.loads(found.stdout)["workers"] == []  # every delivery process gave its share back


def test_the_delivery_processes_of_a_killed_service_stop_on_their_own(tmp_path: Path) -> None:
    """Killed with SIGKILL, a service cannot stop the delivery processes it started (they run in
    a process group of their own): they see their parent gone and stop, rather than deliver on
    beside the next service on the same store."""
    sink, state = Sink(), str(tmp_path / "state.db")
    with sink.server:
        door = serve_on_sqlite(tmp_path, sink, state, workers=3)
        try:
            deliverers: list[int] = []
            for _ in range(80):
                deliverers = [
                    pid for pid in children_of(door.process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
                ]
                if len(deliverers) == 2:
                    break
                time.sleep(0.1)
            assert len(deliverers) == 2
            wait_until_delivered(sink, send_everything([door], lambda: None))  # they are at work
        finally:
            door.kill()
        still = [pid for pid in deliverers if not wait_for_exit(pid, timeout=15)]
        assert still == [], f"delivery process(es) {still} still running after the service was killed"
