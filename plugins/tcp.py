"""Model ``tcp``: echo round trips, or downloading files with every byte verified.

The server runs in its own process (``sequential``, ``thread`` or ``gevent``), the clients
in the trial (``thread`` or ``gevent``) or in one forked process each (``process``).
``server: HOST:PORT`` targets a ``runner serve tcp-echo`` or ``tcp-files`` instead.
The file protocol (RNF1) is in docs/protocols.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

from .net import link, placement
from .net.address import ServerAddress
from .net.limits import CHUNK_MAX_BYTES, IO_TIMEOUT_MAX_S, KEPT_MAX_BYTES

MAX_PROCESS_CLIENTS = 256
MAX_GENERATED_BYTES = 4 << 30


class TcpParams(Params):
    workload: Annotated[
        Literal["echo", "download"],
        Meta(
            description="echo: timed round trips on held connections; "
            "download: fetch every file once"
        ),
    ] = "echo"
    server_cpus: placement.ServerCpus = None
    client_cpus: placement.ClientCpus = None
    server: Annotated[
        ServerAddress | None,
        Meta(
            description="HOST:PORT of a `runner serve tcp-echo` or `tcp-files`; "
            "none: the trial starts its own"
        ),
    ] = None
    server_mode: Annotated[
        Literal["sequential", "thread", "gevent"],
        Meta(
            description="the trial's own server: one connection at a time (the classic demo), "
            "a thread per connection, or a greenlet per connection"
        ),
    ] = "thread"
    client: Annotated[
        Literal["thread", "process", "gevent"],
        Meta(description="what each client is: a thread, a process of its own, or a greenlet"),
    ] = "thread"
    clients: Annotated[
        int, Meta(ge=1, le=19_000, description="concurrent clients (connections)")
    ] = 1
    messages: Annotated[
        int, Meta(ge=0, le=1_000_000, description="echo: round trips per client")
    ] = 100
    payload_bytes: Annotated[
        int,
        Meta(ge=1, le=1 << 20, description="echo: bytes per message"),
    ] = 64
    files: Annotated[
        int, Meta(ge=1, le=100_000, description="download: files the server generates")
    ] = 10
    file_size: Annotated[
        int,
        Meta(ge=0, le=1 << 30, description="download: bytes per file"),
    ] = 1 << 20
    transfer: Annotated[
        Literal["chunked", "sendfile"],
        Meta(description="download: server reads and sends chunk_size pieces, or uses sendfile"),
    ] = "chunked"
    chunk_size: Annotated[
        int,
        Meta(
            ge=1,
            le=CHUNK_MAX_BYTES,
            description="download: server read size and client receive size",
        ),
    ] = 65_536
    io_timeout: Annotated[
        float,
        Meta(
            gt=0,
            le=IO_TIMEOUT_MAX_S,
            description="seconds any one socket operation may wait, client and server "
            "(gevent sockets: a connection may go without receiving anything)",
        ),
    ] = 10.0
    save: Annotated[
        bool,
        Meta(description="download: write each file to disk as it arrives"),
    ] = True
    verify: Annotated[
        Literal["inline", "after", "size"],
        Meta(
            description="download: sha256 as the bytes arrive, inside the timed window (inline); "
            "once every transfer is over, outside it, as iperf3-style tools measure the link "
            "(after); or the length only (size)"
        ),
    ] = "inline"
    client_rate_mib_s: (
        Annotated[
            float,
            Meta(
                gt=0,
                le=100_000,
                description="download: MiB/s each client reads at most (a token bucket on "
                "the client side, so TCP's flow control slows the server); none: as fast as it "
                "can",
            ),
        ]
        | None
    ) = None
    client_think_ms: Annotated[
        float,
        Meta(
            ge=0,
            le=600_000,
            description="download: ms each client pauses on its open connection before sending "
            "each request, as a person or a slow program would (a sequential server waits too)",
        ),
    ] = 0
    link_loss_pct: link.LossPct = None
    link_delay_ms: link.DelayMs = None
    link_jitter_ms: link.JitterMs = None

    def __post_init__(self) -> None:
        if self.client == "process" and self.clients > MAX_PROCESS_CLIENTS:
            raise ValueError(
                f"client: process allows at most {MAX_PROCESS_CLIENTS} clients (one process each)"
            )
        if self.workload == "download" and self.files * self.file_size > MAX_GENERATED_BYTES:
            raise ValueError("files x file_size exceeds 4 GiB of generated data")
        if (
            self.verify == "after"
            and not self.save
            and self.files * self.file_size > KEPT_MAX_BYTES
        ):
            raise ValueError(
                "verify: after without save keeps every file in memory until the end: "
                "files x file_size must stay within 1 GiB (or set save: true)"
            )
        if self.client_think_ms >= self.io_timeout * 1000:
            raise ValueError(
                "client_think_ms must be shorter than io_timeout: the server would give up first"
            )
        link.check(self)


class Tcp(Model):
    name = "tcp"
    description = "TCP echo and file download: thread, process or gevent clients and servers"
    Params = TcpParams
    metrics = (
        Metric(
            "round_trips_per_s", "1/s", True, "echo: round trips per second, all clients", key=True
        ),
        Metric("latency_p50_us", "us", False, "echo: median round trip", key=True),
        Metric("latency_p90_us", "us", False, "echo: 90th percentile round trip"),
        Metric("latency_p99_us", "us", False, "echo: 99th percentile round trip", key=True),
        Metric("latency_max_us", "us", False, "echo: slowest round trip"),
        Metric("connections", "connections", True, "echo: connections open at once (client side)"),
        Metric(
            "peak_connections",
            "connections",
            True,
            "echo: most connections the trial's server held",
        ),
        Metric("connect_s", "s", False, "echo: from the start until every client was connected"),
        Metric(
            "wall_s",
            "s",
            False,
            "download: from starting the clients to the last file checked",
            key=True,
        ),
        Metric("mib_per_s", "MiB/s", True, "download: verified bytes per second", key=True),
        Metric("files_per_s", "files/s", True, "download: verified files per second"),
        Metric("file_p50_us", "us", False, "download: median time to fetch and verify one file"),
        Metric("file_p99_us", "us", False, "download: 99th percentile time per file"),
        Metric(
            "files_verified",
            "files",
            True,
            "download: files whose size and sha256 match (verify: size, the size only)",
            key=True,
        ),
        Metric("files_corrupt", "files", False, "download: files whose sha256 differs"),
        Metric("bytes_lost", "bytes", False, "download: listed bytes that never arrived", key=True),
        Metric(
            "client_mib_s",
            "MiB/s",
            True,
            "download: mean over clients of the bytes each received over its time fetching",
        ),
        Metric(
            "retransmits",
            "segments",
            False,
            "with link_* params: TCP segments the kernel sent again to deliver every byte "
            "(the trial's namespace's RetransSegs: every socket's TCP_INFO tcpi_total_retrans)",
            key=True,
        ),
        Metric(
            "errors",
            "errors",
            False,
            "failed connections or round trips; files not verified",
            key=True,
        ),
    )

    def setup(self, params: TcpParams, ctx: RunContext) -> None:
        from runner.affinity import pin

        from .net.address import parse_hostport
        from .net.limits import raise_nofile

        if link.Conditions.of(params).wanted:  # first: server and clients start inside it
            link.enter(link.Conditions.of(params))
        in_process = params.client != "process"
        raise_nofile(params.clients + 64 if in_process else 64, who="the client process")
        if params.server is None:
            self._start_server(params, ctx)
            pin(params.client_cpus)  # after the server's fork: it keeps its own CPUs
        else:
            pin(params.client_cpus)
            ctx.state["address"] = address = parse_hostport(params.server)
            if params.workload == "download":
                from .net.download import fetch_manifest

                ctx.state["manifest"] = fetch_manifest(address, params.io_timeout)
        if params.client == "process":  # last: it inherits the namespace and the CPUs
            from .net.forker import Forker

            forker = ctx.state["forker"] = Forker()
            code = "download" if params.workload == "download" else "echoclient"
            forker.start(preload=[f"{__package__}.net.{code}"], timeout=min(60.0, ctx.timeout))
        if params.client == "gevent":  # importing it and starting its hub is set-up, not a run
            import gevent
            import gevent.socket

            gevent.get_hub()

    def _start_server(self, params: TcpParams, ctx: RunContext) -> None:
        from .net import procs
        from .net.tcpserver import ServerStats

        stats = ctx.state["stats"] = ServerStats()
        if params.workload == "echo":
            server = procs.ServerProcess(
                "echo server",
                procs.tcp_echo_server,
                cpus=params.server_cpus,
                connections=params.clients,
                mode=params.server_mode,
                io_timeout=params.io_timeout,
                stats=stats,
            )
            ctx.state["server"] = server
            ctx.state["address"] = server.start(timeout=min(60.0, ctx.timeout))
            return
        server = procs.ServerProcess(
            "file server",
            procs.tcp_file_server,
            cpus=params.server_cpus,
            connections=params.clients,
            root=ctx.tmpdir / "server-root",
            files=params.files,
            file_size=params.file_size,
            mode=params.server_mode,
            transfer=params.transfer,
            chunk_size=params.chunk_size,
            io_timeout=params.io_timeout,
            stats=stats,
        )
        ctx.state["server"] = server
        info = server.start(timeout=max(60.0, ctx.timeout))  # it writes the files first
        ctx.state["address"] = info["address"]
        ctx.state["manifest"] = info["manifest"]

    def run(self, params: TcpParams, ctx: RunContext) -> dict[str, float]:
        measure = self._echo if params.workload == "echo" else self._download
        if not link.Conditions.of(params).wanted:
            return measure(params, ctx)
        before = link.tcp_retransmits()  # the trial's own namespace: only its sockets count
        metrics = measure(params, ctx)
        metrics["retransmits"] = link.tcp_retransmits() - before
        return metrics

    def _echo(self, params: TcpParams, ctx: RunContext) -> dict[str, float]:
        from .net.echoclient import run_echo

        stats = ctx.state.get("stats")
        if stats is not None:
            stats.wait_idle(params.io_timeout)  # the last run's connections must not count
            stats.reset_peak()
        metrics = run_echo(
            params.client,
            params.clients,
            ctx.state["address"],
            messages=params.messages,
            payload_bytes=params.payload_bytes,
            io_timeout=params.io_timeout,
            timeout=ctx.timeout,
            hold=stats is not None and params.server_mode != "sequential",
            forker=ctx.state.get("forker"),
        )
        if stats is not None:
            metrics["peak_connections"] = stats.snapshot()["peak"]
        return metrics

    def _download(self, params: TcpParams, ctx: RunContext) -> dict[str, float]:
        import shutil

        from .net.download import run_download

        save_dir = None
        if params.save:
            save_dir = ctx.tmpdir / f"downloads-{ctx.run_index}{'w' if ctx.is_warmup else ''}"
            save_dir.mkdir()
        try:
            return run_download(
                params.client,
                params.clients,
                ctx.state["address"],
                ctx.state["manifest"],
                chunk_size=params.chunk_size,
                io_timeout=params.io_timeout,
                timeout=ctx.timeout,
                save_dir=save_dir,
                rate_mib_s=params.client_rate_mib_s,
                think_ms=params.client_think_ms,
                verify=params.verify,
                forker=ctx.state.get("forker"),
            )
        finally:
            if save_dir is not None:  # the next run starts from an empty directory
                shutil.rmtree(save_dir, ignore_errors=True)

    def teardown(self, params: TcpParams, ctx: RunContext) -> None:
        for part in ("forker", "server"):
            running = ctx.state.pop(part, None)
            if running is not None:
                running.stop()


@hookimpl
def runner_models() -> list[Model]:
    return [Tcp()]
