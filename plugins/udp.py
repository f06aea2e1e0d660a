"""Model ``udp``: echo round trips or one-way blasts over UDP, with loss counted exactly.

By default the trial starts its own server (a forked process beside the clients);
``server: HOST:PORT`` targets a ``runner serve udp`` instead, as ``iperf3 -c`` does.
Each client is a thread with its own socket.  The datagram layout is in docs/protocols.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

from .net.address import check_server


class UdpParams(Params):
    workload: Literal["echo", "oneway"] = Field(
        "echo",
        description="echo: one datagram out, wait for it back, repeat; "
        "oneway: send them all, then ask the receiver what arrived",
    )
    server: Annotated[str | None, AfterValidator(check_server)] = Field(
        None, description="HOST:PORT of a `runner serve udp`; none: the trial starts its own"
    )
    messages: int = Field(10_000, ge=1, le=10_000_000, description="datagrams per client")
    payload_bytes: int = Field(
        64, ge=24, le=65_507, description="UDP payload per datagram, the 24-byte header included"
    )
    clients: int = Field(1, ge=1, le=64, description="client threads, each with its own socket")
    rate_pps: int = Field(
        0, ge=0, le=10_000_000, description="oneway: datagrams/s per client; 0 = as fast as it can"
    )
    reply_timeout: float = Field(
        0.5,
        gt=0,
        le=60,
        description="seconds to wait for an echo reply (then it is lost) or a control answer",
    )
    rcvbuf: int = Field(
        0,
        ge=0,
        le=1 << 30,
        description="SO_RCVBUF bytes of every receiving socket the trial opens (its server's "
        "and its clients'); 0 = system default.  Linux doubles it, capped by net.core.rmem_max",
    )


class Udp(Model):
    name = "udp"
    description = "UDP echo round trips or one-way blasts: loss, reordering, latency, jitter"
    Params = UdpParams
    metrics = (
        Metric("sent", "datagrams", None, "datagrams the clients sent"),
        Metric(
            "received", "datagrams", None, "distinct datagrams that arrived (echo: replies in time)"
        ),
        Metric("lost", "datagrams", False, "sent minus received"),
        Metric("loss_pct", "%", False, "lost as a percentage of sent", key=True),
        Metric("duplicates", "datagrams", False, "datagrams that arrived more than once"),
        Metric("reordered", "datagrams", False, "oneway: arrived after a higher sequence number"),
        Metric("late", "datagrams", False, "echo: replies that came after their wait had ended"),
        Metric(
            "corrupt", "datagrams", False, "echo: replies whose padding differs from what was sent"
        ),
        Metric(
            "pps",
            "datagrams/s",
            True,
            "datagrams received per second (oneway: first to last arrival at the receiver)",
            key=True,
        ),
        Metric("mbit_s", "Mbit/s", True, "UDP payload received per second, in megabits"),
        Metric("latency_p50_us", "us", False, "echo: median round trip", key=True),
        Metric("latency_p90_us", "us", False, "echo: 90th percentile round trip"),
        Metric("latency_p99_us", "us", False, "echo: 99th percentile round trip", key=True),
        Metric("latency_max_us", "us", False, "echo: slowest round trip"),
        Metric(
            "jitter_us", "us", False, "RFC 3550 interarrival jitter (mean over clients)", key=True
        ),
    )

    def setup(self, params: UdpParams, ctx: RunContext) -> None:
        from .net.address import parse_hostport

        if params.server is not None:
            ctx.state["address"] = parse_hostport(params.server)
            return
        from .net.procs import ServerProcess, udp_server

        server = ServerProcess("udp server", udp_server, rcvbuf=params.rcvbuf)
        ctx.state["server"] = server
        ctx.state["address"] = server.start(timeout=min(30.0, ctx.timeout))

    def run(self, params: UdpParams, ctx: RunContext) -> dict[str, float]:
        import time

        from .net import udpclient
        from .net.fanout import run_clients

        address = ctx.state["address"]
        deadline = time.monotonic() + ctx.timeout
        socks: list[Any] = []
        try:
            for _ in range(params.clients):
                sock = udpclient.client_socket(address, params.rcvbuf, params.reply_timeout)
                socks.append(sock)
            if params.workload == "echo":

                def job(env: Any) -> udpclient.UdpOutcome:
                    return udpclient.echo(
                        socks[env.index],
                        params.messages,
                        params.payload_bytes,
                        params.reply_timeout,
                        deadline,
                    )
            else:

                def job(env: Any) -> udpclient.UdpOutcome:
                    return udpclient.oneway(
                        socks[env.index],
                        messages=params.messages,
                        size=params.payload_bytes,
                        rate_pps=params.rate_pps,
                        reply_timeout=params.reply_timeout,
                        deadline=deadline,
                    )

            outcomes = run_clients("thread", params.clients, job, ctx.timeout)
        finally:
            for sock in socks:
                sock.close()
        return summarize(params, outcomes)

    def teardown(self, params: UdpParams, ctx: RunContext) -> None:
        server = ctx.state.pop("server", None)
        if server is not None:
            server.stop()


def summarize(params: UdpParams, outcomes: list[Any]) -> dict[str, float]:
    """Add the clients' outcomes up into the model's metrics."""
    from .net.stats import latency_metrics

    sent = sum(o.sent for o in outcomes)
    received = sum(o.received for o in outcomes)
    # Rates over the receiver's time when it has one (oneway: first to last arrival, on
    # the server's clock), else over the clients' (echo: first request to last reply).
    arrivals = [o for o in outcomes if o.first_arrival_ns]
    if params.workload == "oneway" and received > len(arrivals):
        span_ns = max(o.last_arrival_ns for o in arrivals) - min(
            o.first_arrival_ns for o in arrivals
        )
    else:
        span_ns = max(o.end_ns for o in outcomes) - min(o.start_ns for o in outcomes)
    span_s = max(1, span_ns) / 1e9
    metrics: dict[str, float] = {
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "loss_pct": 100.0 * (sent - received) / sent if sent else 0.0,
        "duplicates": sum(o.duplicates for o in outcomes),
        "pps": received / span_s,
        "mbit_s": sum(o.bytes for o in outcomes) * 8 / span_s / 1e6,
        "jitter_us": sum(o.jitter_ns for o in outcomes) / len(outcomes) / 1e3,
    }
    if params.workload == "echo":
        metrics["late"] = sum(o.late for o in outcomes)
        metrics["corrupt"] = sum(o.corrupt for o in outcomes)
        metrics.update(latency_metrics(x for o in outcomes for x in o.rtts))
    else:
        metrics["reordered"] = sum(o.reordered for o in outcomes)
    return metrics


@hookimpl
def runner_models() -> list[Model]:
    return [Udp()]
