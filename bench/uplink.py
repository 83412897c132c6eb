"""End-to-end uplink benchmark: N booths -> local mosquitto -> K ingest workers -> store, stored and acked.

    .venv/bin/python bench/uplink.py [--booths 50] [--photos 10] [--workers 1,2,4] [--store sqlite]

Booths are the real booth-side ``appliance.uplink.client.Uplink`` (durable outbox, window, acks),
each with its own outbox database, uploading real ~30 KB JPEGs. The central side is
``booth-central serve`` in K separate processes (one ingest worker each) on one shared
subscription, measured for each K of ``--workers`` on a fresh broker and a fresh store; with
``--store postgresql`` every K runs on PostgreSQL as well as on SQLite, printed side by side. The
same run then measures raw paho QoS 1 throughput of the same payloads with no booth logic. Zero
loss: every photo must be acked, stored once, and pass ``check-store`` with the booth's sha256.

What runs where: mosquitto (one process); the central ingest (K processes); the booths
(``--booth-procs`` processes sharing the booths out, each booth with its paho thread, its sender
thread and a flow thread queueing its photos, as on the booth); this process only starts them,
counts the acks the booths report and checks the result. Real booths are separate machines;
several booth processes keep 50 booths from queueing on one interpreter lock. The clock runs from
the moment the booths start queueing their photos (each an fsynced outbox row) to the last
"stored" ack; the CPU time of every process during that window is printed per photo, by group,
beside the whole machine's busy CPU (``/proc/stat``) and the part of it outside the bench's
processes (other users, kernel threads writing the bench's files back). Photos/s depend on what
else runs on the machine; CPU ms per photo of the bench's own processes hardly do, so they are the
numbers to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import itertools
import json
import multiprocessing as mp
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.uplink.client import Uplink  # noqa: E402
from appliance.uplink.settings import UplinkSettings  # noqa: E402
from boothcore.idnumber import make_id_number  # noqa: E402
from central.check_store import check_store  # noqa: E402
from central.local_broker import LocalBroker  # noqa: E402
from central.photos import PhotoArchive  # noqa: E402
from central.sql import POOLS  # noqa: E402
from central.store import open_store  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402


def make_jpegs(count: int, target_kb: int = 30) -> list[bytes]:
    """Portrait-sized (480x640) JPEGs of about ``target_kb`` each, all different."""
    out = []
    for seed in range(count):
        image = Image.effect_noise((480, 640), 30 + seed).convert("RGB")
        draw = ImageDraw.Draw(image)
        draw.ellipse((120 + seed, 120, 360, 420), fill=(200, 160 + seed % 50, 140))
        for quality in range(60, 5, -5):
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            if buffer.tell() <= target_kb * 1024 * 1.2:
                break
        out.append(buffer.getvalue())
    return out


def raw_paho(broker: LocalBroker, payloads: list[bytes], total: int,
             publishers: int) -> tuple[float, int, int]:
    """Seconds and bytes for ``total`` QoS 1 messages from ``publishers`` clients to one subscriber."""
    received = 0
    nbytes = 0
    done = threading.Event()
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, nbytes
        with lock:
            received += 1
            nbytes += len(msg.payload)
            if received >= total:
                done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw-sub", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    sub.subscribe("raw/#", qos=1)[1]
    time.sleep(0.5)
    clients = []
    for index in range(publishers):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-pub-{index}", protocol=mqtt.MQTTv5)
        client.connect(broker.host, broker.port)
        client.loop_start()
        clients.append(client)
    per = total // publishers
    total = per * publishers
    start = time.perf_counter()

    def publish(index: int) -> None:
        for n in range(per):
            clients[index].publish(f"raw/{index}/{n}", payloads[n % len(payloads)], qos=1)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(publishers)]
    for thread in threads:
        thread.start()
    done.wait(timeout=300)
    seconds = time.perf_counter() - start
    for client in [*clients, sub]:
        client.disconnect()
        client.loop_stop()
    return seconds, nbytes, total


def cpu_seconds(procs: dict[str, list[psutil.Process]]) -> dict[str, dict[int, float]]:
    """User + system CPU seconds so far of each process (threads included), by group and pid."""
    out: dict[str, dict[int, float]] = {}
    for name, group in procs.items():
        out[name] = {}
        for proc in group:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            out[name][proc.pid] = times.user + times.system
    return out


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine so far, every core (``/proc/stat``: all but idle and iowait)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def with_children(proc: psutil.Process) -> list[psutil.Process]:
    """A server and the processes it forked (PostgreSQL: one backend per connection)."""
    return [proc, *proc.children(recursive=True)]


Job = tuple[str, Path, dict[str, object]]  # photo_id, durable file, metadata


def booth_process(jobs: dict[str, list[Job]], broker_url: str, window: int, reports: mp.Queue,
                  go: mp.synchronize.Event, stop: mp.synchronize.Event, root: Path) -> None:
    """Run some of the booths: connect, report ready, queue the photos on ``go``, report every ack."""
    settings = UplinkSettings(broker_url=broker_url, window=window, ack_timeout_s=10, telemetry_interval_s=3600)
    booths = {booth: Uplink(settings, booth, root / "booths" / booth / "outbox.db",
                            on_command=lambda c: None,
                            on_photo_acked=lambda photo_id: reports.put(("acked", photo_id)))
              for booth in jobs}
    for uplink in booths.values():
        uplink.start(lambda: {"state": "idle"})
    deadline = time.monotonic() + 30
    while not all(u.connected for u in booths.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    reports.put(("ready", all(u.connected for u in booths.values())))
    go.wait()

    def capture(booth: str) -> None:  # the booth flow: each accepted photo queued durably
        for photo_id, path, meta in jobs[booth]:
            booths[booth].photo_saved(photo_id, path, meta)

    feeders = [threading.Thread(target=capture, args=(booth,), name=f"flow-{booth}") for booth in jobs]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    stop.wait()
    for uplink in booths.values():
        uplink.stop()


class AckObserver:
    """Every photo's fins and central's acks, as one more (plain, non-shared) subscriber of the broker.

    Per photo: when its first fin passed the broker and each ack central sent about it, so the
    bench prints how long a fin waits for its "stored" ack and how many photos were acked "stored"
    more than once (the booth ignores the second, but it is central's wasted work). Timed here, on
    arrival at this process, for fin and ack alike.
    """

    def __init__(self, broker: LocalBroker) -> None:
        self.first_fin: dict[str, float] = {}
        self.acks: dict[str, list[tuple[str, float]]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ack-observer",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe([("booth/v1/+/photo/+/fin", 1), ("central/v1/+/ack", 1)])
        if not self._subscribed.wait(10):
            raise RuntimeError("the ack observer could not subscribe")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        with self._lock:
            if msg.topic.endswith("/fin"):
                self.first_fin.setdefault(msg.topic.split("/")[4], now)
                return
            ack = json.loads(msg.payload)
            if ack.get("kind") == "photo":
                self.acks.setdefault(ack["id"], []).append((ack["status"], now))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def summarize(self, run: Run) -> None:
        with self._lock:
            latencies = []
            for photo_id, acks in self.acks.items():
                stored = [at for status, at in acks if status == "stored"]
                run.stored_acks += len(stored)
                run.missing_acks += sum(status == "missing" for status, _ in acks)
                run.twice_stored += len(stored) > 1
                if stored and photo_id in self.first_fin:
                    latencies.append(max(0.0, stored[0] - self.first_fin[photo_id]))
        run.fin_to_stored_ms = [1000 * value for value in sorted(latencies)]


@dataclass
class Run:
    """One end-to-end measurement: a store engine with a number of ingest processes."""

    store: str
    workers: int
    seconds: float = 0.0
    acked: int = 0
    rows: int = 0
    lost: int = 0
    damaged: int = 0
    megabytes: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per photo, per group of processes
    machine_ms: float = 0.0  # per photo: the whole machine's busy CPU during the run
    kernel_ms: float = 0.0  # per photo: the kernel's threads (block I/O, the journal), for anyone's writes
    load: float = 0.0  # the 1-minute load average at the end of the run
    stored_acks: int = 0  # "stored" acks central sent (one per photo when none is sent twice)
    twice_stored: int = 0  # photos acked "stored" more than once
    missing_acks: int = 0  # "missing" answers to fins
    fin_to_stored_ms: list[float] = field(default_factory=list)  # each photo's first fin to its first "stored" ack

    def fin_to_stored(self, fraction: float) -> float:
        """A quantile of ``fin_to_stored_ms`` (0.5: the median), by nearest rank."""
        values = self.fin_to_stored_ms
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else float("nan")

    @property
    def bench_ms(self) -> float:
        """CPU ms per photo of every process of the bench together."""
        return sum(self.cpu_ms.values())

    @property
    def outside_ms(self) -> float:
        """The machine's busy CPU per photo outside the bench's processes (others' work, kernel threads)."""
        return max(0.0, self.machine_ms - self.bench_ms)

    @property
    def photos_s(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def zero_loss(self, total: int) -> bool:
        return not self.lost and not self.damaged and self.acked == total


def make_jobs(root: Path, jpegs: list[bytes], booths: int, photos: int,
              ) -> tuple[dict[str, list[Job]], dict[str, str], float]:
    """Each booth's photos, durably on "the booth's" disk before the clock starts; each photo's
    sha256 by photo id; their MB."""
    per_booth: dict[str, list[Job]] = {}
    expected: dict[str, str] = {}
    megabytes = 0.0
    for b in range(booths):
        folder = root / "booths" / f"booth-{b:02d}"
        folder.mkdir(parents=True)
        for n in range(photos):
            seq = b * photos + n
            data = jpegs[seq % len(jpegs)]
            path = folder / f"{seq}.jpg"
            path.write_bytes(data)
            megabytes += len(data) / 1e6
            ident = make_id_number("110105", dt.date(2003, 1, 1) + dt.timedelta(days=seq // 900), seq % 900)
            photo_id = uuid.uuid4().hex
            expected[photo_id] = hashlib.sha256(data).hexdigest()
            per_booth.setdefault(f"booth-{b:02d}", []).append((photo_id, path, {
                "id_number": ident, "student_no": f"2023{seq:05d}", "college": f"学院{b % 5}",
                "class": f"班级{b:02d}", "session_id": f"s-{b}", "attempt": 1}))
    return per_booth, expected, megabytes


def measure(run: Run, db_url: str, root: Path, jpegs: list[bytes], args: argparse.Namespace,
            database_server: psutil.Process | None = None) -> Run:
    """Booths upload every photo through a fresh broker to ``run.workers`` ingest processes on a fresh
    store at ``db_url``; the clock runs from the first photo queued to the last "stored" ack.
    ``database_server``: PostgreSQL's postmaster, whose CPU (backends included) is counted too."""
    total = args.booths * args.photos
    with LocalBroker(root / "broker") as broker:
        data_dir = root / "central"
        config = root / "central.toml"
        config.write_text(f'[broker]\nurl = "{broker.url}"\n[storage]\ndata_dir = "{data_dir}"\n'
                          f'db_url = "{db_url}"\n[ingest]\nworkers = 1\n', encoding="utf-8")
        central = [subprocess.Popen([sys.executable, "-m", "central.cli", "serve", "--migrate", "--config", str(config),
                                     "--client-id", f"bench-{i}"], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=(root / f"central-{i}.log").open("wb"))
                   for i in range(run.workers)]
        per_booth, expected, run.megabytes = make_jobs(root, jpegs, args.booths, args.photos)
        names = sorted(per_booth)
        groups = [names[i::args.booth_procs] for i in range(min(args.booth_procs, len(names)))]
        ctx = mp.get_context("spawn")
        reports: mp.Queue = ctx.Queue()
        go, stop = ctx.Event(), ctx.Event()
        observer = AckObserver(broker)
        time.sleep(1.0)  # central connects
        booth_procs = [ctx.Process(target=booth_process, name=f"booths-{i}",
                                   args=({b: per_booth[b] for b in group}, broker.url, args.window, reports,
                                         go, stop, root)) for i, group in enumerate(groups)]
        for proc in booth_procs:
            proc.start()
        ready = [reports.get(timeout=120) for _ in booth_procs]
        if not all(ok for _, ok in ready):
            print("some booths did not connect within 30 s")
        me = psutil.Process()
        procs = {"booths": [psutil.Process(proc.pid) for proc in booth_procs],
                 "central ingest": [psutil.Process(proc.pid) for proc in central],
                 "mosquitto": [c for c in me.children() if c.name() == "mosquitto"],
                 "bench harness": [me]}
        if database_server is not None:
            procs["postgresql server"] = with_children(database_server)
        kernel = {"kernel threads": psutil.Process(2).children()}  # kthreadd's: kworkers, jbd2
        cpu_before, machine_before, kernel_before = cpu_seconds(procs), machine_busy_s(), cpu_seconds(kernel)
        acked: set[str] = set()
        start = time.perf_counter()
        go.set()
        deadline = time.monotonic() + 600
        while len(acked) < total and time.monotonic() < deadline:
            try:
                kind, photo_id = reports.get(timeout=1.0)
            except queue.Empty:
                continue
            if kind == "acked":
                acked.add(photo_id)
        run.seconds = time.perf_counter() - start
        if database_server is not None:  # backends opened during the run count from zero
            procs["postgresql server"] = with_children(database_server)
        cpu_after, machine_after, kernel_after = cpu_seconds(procs), machine_busy_s(), cpu_seconds(kernel)
        run.load = os.getloadavg()[0]
        time.sleep(1.0)  # acks sent twice come a grace later than the first
        observer.summarize(run)
        observer.close()
        stop.set()
        for proc in booth_procs:
            proc.join(timeout=60)
        for proc in central:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    run.acked = len(acked)
    run.cpu_ms = {name: 1000 * sum(cpu - cpu_before[name].get(pid, 0.0) for pid, cpu in cpu_after[name].items())
                  / total for name in procs}
    run.machine_ms = 1000 * (machine_after - machine_before) / total
    run.kernel_ms = 1000 * sum(cpu - kernel_before["kernel threads"].get(pid, cpu)
                               for pid, cpu in kernel_after["kernel threads"].items()) / total
    store = open_store(db_url, base=data_dir)
    try:
        rows = store.photos(current_only=False)
        run.rows = len(rows)
        run.lost = len(expected.keys() - {r.photo_id for r in rows})
        damaged = {fault.record.photo_id for fault in check_store(store, PhotoArchive(data_dir)).faults}
        run.damaged = len(damaged | {r.photo_id for r in rows if r.sha256 != expected.get(r.photo_id)})
    finally:
        store.close()
    return run


def report(run: Run, total: int) -> None:
    print(f"{run.store:>10} {run.workers:>7} {run.photos_s:>9.0f} {run.megabytes / run.seconds:>6.1f} "
          f"{run.seconds:>6.2f} {'yes' if run.zero_loss(total) else 'NO':>9} {run.load:>5.1f}  "
          f"rows {run.rows}, not stored {run.lost}, damaged {run.damaged}, unacked {total - run.acked}", flush=True)
    print(f"{'':>18} fin to \"stored\" ack ms: median {run.fin_to_stored(0.5):.0f}, p90 {run.fin_to_stored(0.9):.0f}, "
          f"p99 {run.fin_to_stored(0.99):.0f}, max {run.fin_to_stored(1.0):.0f}; over 250 ms: "
          f"{sum(ms > 250 for ms in run.fin_to_stored_ms)}; \"stored\" acks {run.stored_acks} "
          f"({run.twice_stored} photos acked twice or more), \"missing\" acks {run.missing_acks}", flush=True)


CPU_GROUPS = ("booths", "mosquitto", "central ingest", "postgresql server", "bench harness")


def cpu_table(runs: list[Run]) -> None:
    """CPU ms per stored photo of each group of processes, each run; the bench's total, the machine's,
    and the machine's outside the bench (of which the kernel's threads: the bench's file and
    database writes, and anyone else's). On 2 cores, 2,000 / (bench total) is the photos/s the bench
    could reach with the machine to itself."""
    print("CPU ms per photo (user + system, every thread)")
    print(f"{'store':>10} {'workers':>7} " + " ".join(f"{name:>14}" for name in CPU_GROUPS)
          + f" {'bench total':>11} {'machine':>8} {'outside':>8} {'kernel thr.':>11}")
    for run in runs:
        cells = " ".join(f"{run.cpu_ms[name]:>14.2f}" if name in run.cpu_ms else f"{'-':>14}" for name in CPU_GROUPS)
        print(f"{run.store:>10} {run.workers:>7} {cells} {run.bench_ms:>11.2f} {run.machine_ms:>8.2f} "
              f"{run.outside_ms:>8.2f} {run.kernel_ms:>11.2f}")


def worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of worker counts like 1,2,4") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: each worker count must be at least 1")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booths", type=int, default=50)
    parser.add_argument("--photos", type=int, default=10, help="photos per booth")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: measure PostgreSQL and, beside it in the same run, SQLite")
    parser.add_argument("--workers", type=worker_counts, default=[1, 2, 4], metavar="N,N,...",
                        help="ingest worker counts to measure (each worker its own process), default 1,2,4")
    parser.add_argument("--window", type=int, default=8, help="booth upload window (photos in flight)")
    parser.add_argument("--booth-procs", type=int, default=2, help="processes the booths are shared out to")
    args = parser.parse_args()
    total = args.booths * args.photos
    root = Path(tempfile.mkdtemp(prefix="bench-uplink-"))
    jpegs = make_jpegs(16)
    avg_kb = sum(map(len, jpegs)) / len(jpegs) / 1024
    stores = ["sqlite", "postgresql"] if args.store == "postgresql" else ["sqlite"]
    print(f"{args.booths} booths x {args.photos} photos = {total} photos of ~{avg_kb:.0f} KB "
          f"(real JPEGs), {args.booth_procs} booth process(es); stores {', '.join(stores)} with "
          f"{', '.join(map(str, args.workers))} ingest worker process(es); {os.cpu_count()} cores; data in {root}")
    print(f"{'store':>10} {'workers':>7} {'photos/s':>9} {'MB/s':>6} {'s':>6} {'zero loss':>9} {'load':>5}")
    runs = []
    with contextlib.ExitStack() as stack:
        # A durable cluster (fsync on, as in production), started from Debian's packages as the tests do.
        server = stack.enter_context(PostgresServer(durable=True)) if "postgresql" in stores else None
        for store in stores:
            for workers in args.workers:
                folder = root / f"{store}-{workers}"
                postmaster = None
                if server is not None and store == "postgresql":
                    url = server.create_database()
                    open_store(url, migrate=True).close()
                    postmaster = psutil.Process(int((server.data / "postmaster.pid").read_text().split()[0]))
                else:
                    url = f"sqlite:///{folder / 'central' / 'central.db'}"
                runs.append(measure(Run(store, workers), url, folder, jpegs, args, postmaster))
                report(runs[-1], total)
        POOLS.close_all()
    cpu_table(runs)

    with LocalBroker(root / "raw-broker") as broker:
        raw_total = max(total * 3, 3000)
        raw_s, raw_bytes, raw_total = raw_paho(broker, jpegs, raw_total, min(args.booths, 16))
    raw_rate = raw_total / raw_s
    print(f"raw paho QoS 1, same payloads, no booth logic: {raw_total} messages in {raw_s:.2f} s = "
          f"{raw_rate:.0f} msg/s, {raw_bytes / 1e6 / raw_s:.1f} MB/s")
    best = max(runs, key=lambda run: run.photos_s)
    print(f"best end-to-end / raw: {best.photos_s / raw_rate:.2f} ({best.store}, {best.workers} workers)")
    target = 200
    sqlite = {run.workers: run.photos_s for run in runs if run.store == "sqlite"}
    for store in stores:
        rates = {run.workers: run.photos_s for run in runs if run.store == store}
        line = f"{store}: photos/s by workers " + ", ".join(f"{k}: {rate:.0f}" for k, rate in rates.items())
        if store == "sqlite":
            met = all(rate >= target for k, rate in rates.items() if k >= 2)
            line += f"; target >= {target} photos/s with 2+ workers: {'met' if met else 'NOT met'}"
        else:
            # Issue 13: PostgreSQL with 2 workers at least as fast as SQLite (measured here, same run),
            # and more workers store more.
            counts = sorted(rates)
            growing = all(rates[a] < rates[b] for a, b in itertools.pairwise(counts))
            if 2 in rates and 2 in sqlite:
                line += (f"; 2 workers vs SQLite's 2 workers ({sqlite[2]:.0f}): "
                         f"{'met' if rates[2] >= sqlite[2] else 'NOT met'}")
            line += f"; growing with workers: {'yes' if growing else 'NO'}"
        print(line)
    os.environ.get("BENCH_KEEP") or __import__("shutil").rmtree(root, ignore_errors=True)
    return 0 if all(run.zero_loss(total) for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
