"""The benchmark's tables, as text for the terminal and docs/PERFORMANCE.md."""

from __future__ import annotations

TARGETS = {"normalise_vs_floor": 3.0, "added_p50_ms_1_client": 1.0, "records_per_s_16_clients": 50_000,
           "peak_rss_mb_per_worker": 100.0}


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join("| " + " | ".join(str(cell).ljust(w) for cell, w in zip(line, widths)) + " |" for line in lines)


def normalise(rows: list[dict]) -> str:
    """Section 1: records/s per contender and size, and the gateway's ratios to the floors."""
    names = ("orjson", "json", "gateway", "schema_only", "naive", "reshape")
    body = []
    for row in rows:
        cells = [str(row["records"]), f"{row['body_bytes']:,}"]
        cells += [f"{row[name]['records_per_s']:,.0f}" for name in names]
        cells += [f"{row['gateway_vs_orjson']:.1f}x", f"{row['gateway_vs_json']:.2f}x",
                  f"{row['schema_only_vs_orjson']:.1f}x", f"{row['reshape_vs_orjson']:.1f}x"]
        body.append(cells)
    header = ["records", "bytes", "orjson rec/s", "json rec/s", "gateway rec/s", "schema-only rec/s",
              "naive rec/s", "reshape rec/s", "gateway/orjson", "gateway/json", "schema-only/orjson",
              "reshape/orjson"]
    return table(header, body)


def parser(result: dict) -> str:
    """Section 2: throughput on realistic strings, and time per size with its growth."""
    real = result["realistic"]
    lines = [f"realistic strings: {real['strings']} strings, {real['us_per_string']:.2f} us each, "
             f"{real['mb_per_s']:.1f} MB/s"]
    rows = [[row["size"], f"{row['chars']:,}", f"{row['ms']:.3f}", f"{row['mb_per_s']:.1f}",
             f"{row['per_byte_vs_1KB']:.2f}"] for row in result["growth"]]
    return "\n".join(lines) + "\n\n" + table(["size", "chars", "ms", "MB/s", "time per byte vs 1 KB"], rows)


def e2e(result: dict) -> str:
    """Section 3: latency and throughput direct and through the gateway, and what it adds."""
    body = []
    for row in result["rows"]:
        for name in ("simulator", "gateway"):
            cell = row[name]
            lopsided = row["clients"] > 1  # one client's one connection is one worker's, always
            by_round = " / ".join(f"{value:,.0f}" + ("*" if lopsided and share and share > 0.9 else "")
                                  for value, share in zip(cell["req_per_s_by_round"],
                                                          cell["busiest_worker_share_by_round"]))
            gateway_cpu = f"{cell['gateway_cpu_ms_per_request']:.2f}" if name == "gateway" else "-"
            body.append([str(row["clients"]), name, cell["driver"], f"{cell['p50_ms']:.2f}", f"{cell['p99_ms']:.2f}",
                         f"{cell['req_per_s']:,.0f} ({by_round})", f"{cell['records_per_s']:,.0f}", gateway_cpu,
                         f"{cell['simulator_cpu_ms_per_request']:.2f}", f"{cell['driver_cpu_ms_per_request']:.2f}"])
        body.append([str(row["clients"]), "added by the gateway", "", f"{row['added_p50_ms']:+.2f}",
                     f"{row['added_p99_ms']:+.2f}", f"ratio {row['throughput_ratio']:.3f}", "", "", "", ""])
    header = ["clients", "target", "driver", "p50 ms", "p99 ms", "req/s median (rounds)", "records/s",
              "gateway CPU ms/req", "simulator CPU ms/req", "driver CPU ms/req"]
    rss = ", ".join(f"{mb:.1f}" for mb in result["worker_peak_rss_mb"].values() if mb is not None)
    note = " (a worker was recycled during the run)" if result["workers_recycled"] else ""
    return (table(header, body) + "\n\n* a round in which one gunicorn worker did over 90% of the work"
            f" (its keep-alive connections all landed on it)\npeak RSS per worker (VmHWM): {rss} MB{note}")


def verdicts(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target whose section ran."""
    found = []
    if "normalise" in results:
        worst = max(row["gateway_vs_orjson"] for row in results["normalise"] if row["records"] >= 100)
        worst_json = max(row["gateway_vs_json"] for row in results["normalise"] if row["records"] >= 100)
        limit = TARGETS["normalise_vs_floor"]
        found.append((f"normalisation <= {limit:.0f}x bare json.loads + json.dumps (issue 6's floor)",
                      f"{worst_json:.2f}x", worst_json <= limit))
        found.append((f"normalisation <= {limit:.0f}x bare orjson both ways (the stricter floor)",
                      f"{worst:.1f}x", worst <= limit))
    if "e2e" in results:
        one, sixteen = results["e2e"]["rows"]
        found.append(("added latency p50 <= 1 ms, 1 client", f"{one['added_p50_ms']:.2f} ms",
                      one["added_p50_ms"] <= TARGETS["added_p50_ms_1_client"]))
        rate = sixteen["gateway"]["records_per_s"]
        found.append(("records/s >= 50,000, 16 clients", f"{rate:,.0f}", rate >= TARGETS["records_per_s_16_clients"]))
        peak = max(mb for mb in results["e2e"]["worker_peak_rss_mb"].values() if mb is not None)
        found.append(("peak RSS per worker <= 100 MB", f"{peak:.1f} MB", peak <= TARGETS["peak_rss_mb_per_worker"]))
    return found
