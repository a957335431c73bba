"""The benchmark's tables, as text for the terminal and docs/PERFORMANCE.md."""

from __future__ import annotations

# The targets of docs/PERFORMANCE.md. Throughput is judged against the bare pass-through: "0.6x of direct,
# where bare made 0.70x" depends on how fast the upstream is; 0.6 / 0.70 of bare does not.
TARGETS = {"own_ms_100": 0.5, "own_1000_over_json": 2.0, "gateway_over_upstream": 0.6,
           "bare_over_upstream_then": 0.70, "own_ms_1": 0.3, "peak_rss_mb": 100.0}
# The CPU targets: the workers' utime + stime per request, the gateway's beyond the bare pass-through's, over
# the CPU of the stdlib JSON round trip of the same bytes timed in the same rounds; these decide.
CPU_TARGETS = {"cpu_1000_over_json": 2.0, "cpu_100_over_json": 2.5, "gateway_over_bare": 0.86}


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
    lines = [f"{name}: {cell['strings']} strings, full parser {cell['full_us_per_string']:.2f} us each "
             f"({cell['full_mb_per_s']:.1f} MB/s), batch reader {cell['batch_us_per_string']:.2f} us each "
             f"({cell['batch_mb_per_s']:.1f} MB/s)" for name, cell in result["realistic"].items()]
    rows = [[row["size"], f"{row['chars']:,}", f"{row['ms']:.3f}", f"{row['mb_per_s']:.1f}",
             f"{row['per_byte_vs_1KB']:.2f}"] for row in result["growth"]]
    return "\n".join(lines) + "\n\n" + table(["size", "chars", "ms", "MB/s", "time per byte vs 1 KB"], rows)


def e2e(result: dict) -> str:
    """Section 3: p50 per target and batch size, own work, throughput, for each record mix."""
    lines = [cpu_table(result, mix) for mix in result["latency"]]
    if result.get("variants"):
        lines.append(variants(result))
    for mix, by_size in result["latency"].items():
        rows = []
        for size, cell in by_size.items():
            up, bare, gw = (cell[name]["p50_ms"] for name in ("upstream", "bare", "gateway"))
            cpu = {name: cell[name]["cpu_ms_per_request"] for name in ("bare", "gateway")}
            rows.append([str(size), f"{up:.2f}", f"{bare:.2f}", f"{gw:.2f}", f"{bare - up:+.2f}", f"{gw - up:+.2f}",
                         f"{gw - bare:.2f}", f"{(gw - bare) / int(size) * 1e3:.1f}",
                         f"{cell['json_round_trip_ms']:.2f}", f"{(gw - bare) / cell['json_round_trip_ms']:.2f}x",
                         f"{cpu['bare']:.2f} / {cpu['gateway']:.2f}", f"{cell['gateway']['p99_ms']:.2f}"])
        lines.append(f"{mix} records, 1 client, p50 ms (own work = gateway - bare):\n" + table(
            ["records", "upstream", "bare", "gateway", "bare - upstream", "gateway - upstream", "own work ms",
             "own work us/record", "json round trip ms", "own work / json", "CPU ms/req bare / gateway",
             "gateway p99"], rows))
    rows = []
    for mix, cell in result["throughput"].items():
        up, bare, gw = (cell[name]["records_per_s"] for name in ("upstream", "bare", "gateway"))
        rounds = " / ".join(f"{value:,.0f}" for value in cell["gateway"]["by_round"])
        rows.append([mix, f"{up:,.0f}", f"{bare:,.0f}", f"{gw:,.0f} ({rounds})", f"{bare / up:.3f}",
                     f"{gw / up:.3f}", f"{gw / bare:.2f}"])
    lines.append(f"{result['clients']} clients, {result['throughput_batch']}-record batches, records/s:\n" + table(
        ["records", "upstream", "bare", "gateway (rounds)", "bare/upstream", "gateway/upstream", "gateway/bare"],
        rows))
    for mix, cell in result["in_process_1000"].items():
        lines.append(f"in process, 1,000 {mix} records: json.loads + json.dumps {cell['json_round_trip']:.2f} ms, "
                     f"normalise_answer + render_batch {cell['gateway']:.2f} ms "
                     f"({cell['gateway'] / cell['json_round_trip']:.2f}x)")
    if "against" in result:
        lines.append(against(result))
    rss = {name: ", ".join(f"{mb:.1f}" for mb in values if mb is not None)
           for name, values in result["worker_peak_rss_mb"].items()}
    lines.append(f"gunicorn: {result['gunicorn']}; peak RSS per worker (VmHWM): gateway {rss['gateway']} MB, "
                 f"bare {rss['bare']} MB")
    return "\n\n".join(lines)


def cpu_table(result: dict, mix: str) -> str:
    """The workers' CPU per request (utime + stime, all workers of each master) at 1 client, beside the
    in-process JSON round trip's CPU in the same rounds."""
    rows = []
    for size, cell in _by_size(result["latency"][mix]).items():
        beyond = cell["gateway"]["cpu_ms_per_request"] - cell["bare"]["cpu_ms_per_request"]
        json_cpu = cell["json_round_trip_cpu_ms"]
        rows.append([str(size), f"{cell['bare']['cpu_ms_per_request']:.2f}",
                     f"{cell['gateway']['cpu_ms_per_request']:.2f}", f"{beyond:.2f}", f"{json_cpu:.3f}",
                     f"{beyond / json_cpu:.2f}x", f"{cell['bare']['p50_ms']:.2f} / {cell['gateway']['p50_ms']:.2f}"])
    return (f"{mix} records, 1 client, CPU ms per request (workers' utime + stime from /proc; beyond = gateway - "
            f"bare):\n" + table(["records", "bare CPU", "gateway CPU", "beyond bare", "json round trip CPU",
                                  "beyond / json", "p50 ms bare / gateway"], rows))


def variants(result: dict) -> str:
    """One row per feature variant (``bench.features``) and size: its CPU beside the default gateway's."""
    rows = []
    for target, info in result["variants"].items():
        for size, cell in _by_size(result["latency"]["realistic"]).items():
            default, other = cell["gateway"]["cpu_ms_per_request"], cell[target]["cpu_ms_per_request"]
            json_cpu = cell["json_round_trip_cpu_ms"]
            rows.append([info["name"], str(size), f"{other:.2f}", f"{default:.2f}", f"{default - other:+.2f}",
                         f"{(other - cell['bare']['cpu_ms_per_request']) / json_cpu:.2f}x",
                         f"{cell[target]['p50_ms']:.2f}"])
        speed = result["throughput"]["realistic"]
        rows.append([info["name"], f"{result['clients']} clients", f"{speed[target]['records_per_s']:,.0f} rec/s",
                     f"{speed['gateway']['records_per_s']:,.0f} rec/s", "", "", ""])
    return ("feature variants, realistic records, 1 client CPU ms per request (default - variant = what the "
            "defaults cost over the variant):\n" + table(
                ["variant", "records", "variant CPU", "default CPU", "default - variant", "variant beyond bare / json",
                 "variant p50 ms"], rows))


def _by_size(cells: dict) -> dict[int, dict]:
    return {int(size): cell for size, cell in cells.items()}  # keys are strings once read back from JSON


def against(result: dict) -> str:
    """The A/B of two config files (``--against``): realistic records, each config against its own bare."""
    configs = {"": ("python:callnos_gateway.server.gunicorn_config", result["gunicorn"]),
               "_against": (result["against"]["config"], result["against"]["gunicorn"])}
    rows = []
    for size, cell in result["latency"]["realistic"].items():
        speed = result["throughput_by_size"][size] if size in result["throughput_by_size"] \
            else result["throughput_by_size"][str(size)]
        for suffix, (name, _) in configs.items():
            bare, gw = cell["bare" + suffix], cell["gateway" + suffix]
            fast_bare, fast_gw = speed["bare" + suffix], speed["gateway" + suffix]
            own = gw["p50_ms"] - bare["p50_ms"]
            rows.append([str(size), name, f"{gw['p50_ms']:.2f}", f"{own:.2f}",
                         f"{own / cell['json_round_trip_ms']:.2f}x",
                         f"{bare['cpu_ms_per_request']:.2f} / {gw['cpu_ms_per_request']:.2f}",
                         f"{fast_bare['records_per_s']:,.0f} / {fast_gw['records_per_s']:,.0f}",
                         f"{fast_gw['records_per_s'] / fast_bare['records_per_s']:.2f}",
                         f"{fast_bare['cpu_ms_per_request']:.2f} / {fast_gw['cpu_ms_per_request']:.2f}",
                         f"{fast_bare['waiting_for_cpu_cores']:.2f} / {fast_gw['waiting_for_cpu_cores']:.2f}"])
    started = "; ".join(f"{name}: {info}" for name, info in configs.values())
    return (f"A/B of two gunicorn configs, realistic records ({started}), medians over rounds; "
            f"own work = gateway p50 - bare p50 under the same config:\n" + table(
                ["records", "config", "gateway p50 ms", "own work ms", "own work / json", "1 client CPU ms/req bare / gw",
                 f"{result['clients']} clients rec/s bare / gw", "gw/bare", f"{result['clients']} clients CPU ms/req bare / gw",
                 "waiting for CPU, cores bare / gw"], rows))


def e2e_figures(result: dict, mix: str = "realistic") -> dict:
    """The issue's figures for one record mix."""
    latency = result["latency"][mix]
    latency = {int(size): cell for size, cell in latency.items()}  # keys are strings once read back from JSON
    own = {size: cell["gateway"]["p50_ms"] - cell["bare"]["p50_ms"] for size, cell in latency.items()}
    speed = {name: cell["records_per_s"] for name, cell in result["throughput"][mix].items()}
    return {"own_ms_1": own[1], "own_ms_100": own[100], "own_ms_1000": own[1000],
            "own_1000_over_json": own[1000] / latency[1000]["json_round_trip_ms"],
            "gateway_over_upstream": speed["gateway"] / speed["upstream"],
            "bare_over_upstream": speed["bare"] / speed["upstream"],
            "gateway_over_bare": speed["gateway"] / speed["bare"]}


def cpu_figures(result: dict, mix: str = "realistic") -> dict:
    """The issue's CPU figures for one record mix: beyond the bare's over the JSON round trip's CPU."""
    latency = _by_size(result["latency"][mix])
    beyond = {size: cell["gateway"]["cpu_ms_per_request"] - cell["bare"]["cpu_ms_per_request"]
              for size, cell in latency.items()}
    speed = result["throughput"][mix]
    return {"cpu_beyond_ms_1": beyond[1], "cpu_beyond_ms_100": beyond[100], "cpu_beyond_ms_1000": beyond[1000],
            "cpu_100_over_json": beyond[100] / latency[100]["json_round_trip_cpu_ms"],
            "cpu_1000_over_json": beyond[1000] / latency[1000]["json_round_trip_cpu_ms"],
            "gateway_over_bare": speed["gateway"]["records_per_s"] / speed["bare"]["records_per_s"],
            "errors": sum(cell.get("failed", 0) for cell in speed.values())}


def cpu_verdicts(e2e_: dict) -> list[tuple[str, str, bool]]:
    """The CPU targets (these decide), then the errors of every run."""
    real, mix = cpu_figures(e2e_, "realistic"), cpu_figures(e2e_, "mix")
    both = lambda key, unit, digits: f"{real[key]:.{digits}f}{unit} (mix: {mix[key]:.{digits}f}{unit})"  # noqa: E731
    found = []
    for size, key in ((1000, "cpu_1000_over_json"), (100, "cpu_100_over_json")):
        found.append((f"gateway CPU beyond the bare's at {size:,} records <= {CPU_TARGETS[key]:.1f}x the JSON round "
                      f"trip's CPU", both(key, "x", 2) + f"; {real[f'cpu_beyond_ms_{size}']:.2f} ms",
                      real[key] <= CPU_TARGETS[key]))
    found.append((f"records/s at 16 clients, gateway over bare (100 records) >= {CPU_TARGETS['gateway_over_bare']}x",
                  both("gateway_over_bare", "x", 2), real["gateway_over_bare"] >= CPU_TARGETS["gateway_over_bare"]))
    found.append(("gateway CPU beyond the bare's at 1 record (no target)", both("cpu_beyond_ms_1", " ms", 2), True))
    errors = real["errors"] + mix["errors"]
    found.append(("errors (every 1-client request must answer 200 or the run stops)", str(errors), errors == 0))
    return found


def verdicts(results: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target whose section ran (the realistic records decide)."""
    found = []
    if "e2e" not in results:
        return found
    e2e_ = results["e2e"]
    found += cpu_verdicts(e2e_)
    real, mix = e2e_figures(e2e_, "realistic"), e2e_figures(e2e_, "mix")
    both = lambda key, unit, digits: f"{real[key]:.{digits}f}{unit} (mix: {mix[key]:.{digits}f}{unit})"  # noqa: E731
    found.append((f"latency: own work at 100 records <= {TARGETS['own_ms_100']} ms", both("own_ms_100", " ms", 2),
                  real["own_ms_100"] <= TARGETS["own_ms_100"]))
    found.append((f"latency: own work at 1,000 records <= {TARGETS['own_1000_over_json']:.1f}x json.loads + json.dumps",
                  both("own_1000_over_json", "x", 2), real["own_1000_over_json"] <= TARGETS["own_1000_over_json"]))
    found.append((f"latency: own work at 1 record <= {TARGETS['own_ms_1']} ms", both("own_ms_1", " ms", 2),
                  real["own_ms_1"] <= TARGETS["own_ms_1"]))
    peak = max(mb for mb in e2e_["worker_peak_rss_mb"]["gateway"] if mb is not None)
    found.append((f"peak RSS per worker <= {TARGETS['peak_rss_mb']:.0f} MB", f"{peak:.1f} MB",
                  peak <= TARGETS["peak_rss_mb"]))
    return found
