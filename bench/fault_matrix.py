"""Print the fault matrix of docs/RELIABILITY.md: one fetch per fault, counted at the simulator.

For each fault: what the client got, how many callnos requests reached the
upstream, how many records the upstream took, how many the client received,
and how many went missing without the client being told (must be 0).
Then the invalidating upstream (each login kills every earlier token) under a
bounded load through gunicorn, once per token store (``bench.token_logins``).
Run: ``.venv/bin/python -m bench.fault_matrix``. Loopback only, about 20 s.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from callnos_gateway.settings import Settings
from callnos_gateway.app import create_app
from bench import token_logins
from callnos_gateway.simulator import Simulator, SimulatorConfig

KEY, USER, PASSWORD = "matrix-key", "matrix", "matrix-password"
BATCH = 5
WARNED = ("upstream_timeout", "upstream_connection_lost", "upstream_error", "upstream_bad_response")


@dataclass(frozen=True)
class Case:
    name: str
    endpoint: str
    fault: str
    settings: dict


CASES = [
    Case("none (baseline)", "callnos", "ok", {}),
    Case("upstream 500", "callnos", "status:500", {}),
    Case("upstream 502", "callnos", "status:502", {}),
    Case("upstream 503", "callnos", "status:503", {}),
    Case("read timeout", "callnos", "timeout:3", {"read_timeout": 0.5}),
    Case("reset after sending", "callnos", "reset", {}),
    Case("connection dropped after sending", "callnos", "drop", {}),
    Case("upstream drips bytes past the deadline", "callnos", "drip:20", {"read_timeout": 1.0, "total_timeout": 1.5}),
    Case("non-zero result", "callnos", "result:0100002", {}),
    Case("broken JSON", "callnos", "broken_json", {}),
    Case("body of the wrong shape", "callnos", "wrong_shape", {}),
    Case("huge body (5 MB, limit 1 MiB)", "callnos", "huge:5000000", {"max_response_bytes": 1 << 20}),
    Case("token refused once (401)", "callnos", "status:401", {}),
    Case("token refused twice", "callnos", "status:401,status:403", {}),
    Case("slow login (1 s)", "login", "latency:1000", {}),
    Case("login refused", "login", "status:401", {}),
    Case("login times out", "login", "timeout:3", {"read_timeout": 0.5}),
]


def settings_for(url: str, **overrides) -> Settings:
    values = dict(upstream_url=url, auth_mode="login", username=USER, password=PASSWORD, api_keys=(KEY,),
                  sub_cc_no=1, vdn_id=1, connect_timeout=0.5, read_timeout=2.0, retry_backoff=0.05,
                  token_store="memory")
    return Settings(**{**values, **overrides})


def run_case(case: Case) -> dict:
    with Simulator(SimulatorConfig(port=0, user=USER, password=PASSWORD)) as sim:
        client = create_app(settings_for(sim.url, **case.settings)).test_client()
        sim.push_faults(case.endpoint, case.fault.split(","))
        response = client.post("/v1/call-data", json={"task_id": 1001, "batch_size": BATCH},
                               headers={"X-API-Key": KEY})
        return row(case.name, response, sim.stats())


def row(name: str, response, stats: dict) -> dict:
    body = response.get_json(silent=True) or {}
    received = body.get("count", 0) if response.status_code == 200 else 0
    got = "200" if response.status_code == 200 else f"{response.status_code} {body.get('code')}"
    warned = body.get("code") in WARNED
    lost_silently = stats["records_taken"] - received if not warned else 0
    return {"fault": name, "client got": got, "callnos requests": stats["callnos"],
            "taken upstream": stats["records_taken"], "received": received,
            "taken, client told": stats["records_taken"] - received if warned else 0,
            "lost silently": lost_silently}


def refused_case() -> dict:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = create_app(settings_for(f"http://127.0.0.1:{port}")).test_client()
    response = client.post("/v1/call-data", json={"task_id": 1001, "batch_size": BATCH}, headers={"X-API-Key": KEY})
    return row("connection refused (3 tries)", response, {"callnos": 0, "records_taken": 0})


def markdown(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    return "\n".join(lines)


def invalidating_rows(fetches: int = 200) -> list[dict]:
    """An upstream whose logins invalidate earlier tokens, under load, with each token store."""
    rows = [token_logins.run(store, True, fetches, seconds=30, token_ttl=300) for store in token_logins.STORES]
    return [{k: v for k, v in row.items() if not k.endswith("/min")} for row in rows]  # runs too short for rates


def main() -> None:
    rows = [run_case(case) for case in CASES] + [refused_case()]
    print(markdown(rows))
    assert all(r["lost silently"] == 0 for r in rows), "a record went missing without the client being told"
    print("\nInvalidating upstream (each login kills every earlier token), 200 fetches from 8 clients:\n")
    print(markdown(invalidating_rows()))


if __name__ == "__main__":
    main()
