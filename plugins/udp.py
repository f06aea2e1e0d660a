"""Model ``udp``: echo round trips or one-way blasts over UDP, with loss counted exactly.

By default the trial starts its own server (a forked process beside the clients);
``server: HOST:PORT`` targets a ``runner serve udp`` instead, as ``iperf3 -c`` does.
Each client is a thread with its own socket.  The datagram layout is in docs/protocols.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from runner import hookimpl
from runner.model import Metric, Model, Params, RunContext

from .net import link, placement
from .net.address import ServerAddress


class UdpParams(Params):
    workload: Annotated[
        Literal["echo", "oneway"],
        Meta(
            description="echo: one datagram out, wait for it back, repeat; "
            "oneway: send them all, then ask the receiver what arrived"
        ),
    ] = "echo"
    server_cpus: placement.ServerCpus = None
    client_cpus: placement.ClientCpus = None
    server: Annotated[
        ServerAddress | None,
        Meta(description="HOST:PORT of a `runner serve udp`; none: the trial starts its own"),
    ] = None
    messages: Annotated[int, Meta(ge=1, le=10_000_000, description="datagrams per client")] = 10_000
    payload_bytes: Annotated[
        int,
        Meta(ge=24, le=65_507, description="UDP payload per datagram, the 24-byte header included"),
    ] = 64
    clients: Annotated[
        int, Meta(ge=1, le=64, description="client threads, each with its own socket")
    ] = 1
    rate_pps: Annotated[
        int | Literal["max"],
        Meta(
            description="oneway: datagrams/s per client (1 to 10,000,000), "
            "or max: as fast as it can"
        ),
    ] = "max"
    reply_timeout: Annotated[
        float,
        Meta(
            gt=0,
            le=60,
            description="seconds to wait for an echo reply (then it is lost) or a control answer",
        ),
    ] = 0.5
    rcvbuf: Annotated[
        int,
        Meta(
            ge=0,
            le=1 << 30,
            description="SO_RCVBUF bytes of every receiving socket the trial opens (its server's "
            "and its clients'); 0 = system default.  Linux doubles it, capped by net.core.rmem_max",
        ),
    ] = 0
    link_loss_pct: link.LossPct = None
    link_delay_ms: link.DelayMs = None
    link_jitter_ms: link.JitterMs = None

    def __post_init__(self) -> None:
        if self.rate_pps == 0:
            raise ValueError("0 datagrams/s sends nothing: write max for as fast as the sender can")
        if self.rate_pps != "max" and not 1 <= self.rate_pps <= 10_000_000:
            raise ValueError("rate_pps is datagrams/s from 1 to 10,000,000, or max")
        link.check(self)


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
        Metric("loss_pct", "%", False, "lost as a percentage of sent", key=True, floor=0.1),
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
        Metric(
            "rcvbuf_drops",
            "datagrams",
            False,
            "with link_* params: datagrams a full receive buffer dropped (the receiver was "
            "overrun), counted by the trial's namespace: lost minus these is the link's loss",
        ),
        Metric(
            "link_drop_pct",
            "%",
            False,
            "with link_* params: lost minus rcvbuf_drops, as a percentage of sent: the loss "
            "the link made, to set beside link_loss_expected_pct (an overrun control "
            "datagram, sent again, can take it a hair below 0)",
            key=True,
        ),
        Metric(
            "link_loss_expected_pct",
            "%",
            None,
            "the loss link_loss_pct predicts: that share one way, 1-(1-p)^2 for an echo round trip",
        ),
        Metric("latency_p50_us", "us", False, "echo: median round trip", key=True),
        Metric("latency_p90_us", "us", False, "echo: 90th percentile round trip"),
        Metric("latency_p99_us", "us", False, "echo: 99th percentile round trip", key=True),
        Metric("latency_max_us", "us", False, "echo: slowest round trip"),
        Metric(
            "jitter_us", "us", False, "RFC 3550 interarrival jitter (mean over clients)", key=True
        ),
    )

    def setup(self, params: UdpParams, ctx: RunContext) -> None:
        from runner.affinity import pin

        from .net.address import parse_hostport

        if link.Conditions.of(params).wanted:  # first: the server must start inside it
            link.enter(link.Conditions.of(params))
        if params.server is not None:
            ctx.state["address"] = parse_hostport(params.server)
            pin(params.client_cpus)
            return
        from .net.procs import ServerProcess, udp_server

        server = ServerProcess("udp server", udp_server, cpus=params.server_cpus,
                               rcvbuf=params.rcvbuf)  # fmt: skip
        ctx.state["server"] = server
        ctx.state["address"] = server.start(timeout=min(30.0, ctx.timeout))
        pin(params.client_cpus)  # after the server's fork: it keeps its own CPUs

    def run(self, params: UdpParams, ctx: RunContext) -> dict[str, float]:
        if not link.Conditions.of(params).wanted:
            return self._run(params, ctx)
        before = link.udp_rcvbuf_drops()  # the trial's own namespace: only its sockets count
        metrics = self._run(params, ctx)
        metrics["rcvbuf_drops"] = drops = link.udp_rcvbuf_drops() - before
        if metrics["sent"]:
            metrics["link_drop_pct"] = 100.0 * (metrics["lost"] - drops) / metrics["sent"]
        return metrics

    def _run(self, params: UdpParams, ctx: RunContext) -> dict[str, float]:
        import time

        from .net import udpclient
        from .net.fanout import in_threads

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
                        rate_pps=0 if params.rate_pps == "max" else params.rate_pps,
                        reply_timeout=params.reply_timeout,
                        deadline=deadline,
                        control_tries=udpclient.control_tries(params.link_loss_pct),
                    )

            outcomes = in_threads(params.clients, job, ctx.timeout)
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
    from runner.percentiles import latency_metrics

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
    if params.link_loss_pct is not None:
        p = params.link_loss_pct / 100
        metrics["link_loss_expected_pct"] = 100 * (
            p if params.workload == "oneway" else 1 - (1 - p) ** 2
        )
    return metrics


@hookimpl
def runner_models() -> list[Model]:
    return [Udp()]
