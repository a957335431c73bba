"""The bench's ``tracing`` section, in short: three gateways measured in one run, only the traced one exports.

The figures themselves (CPU per request, untraced / off / on) come from
``python -m bench tracing``; this keeps the section runnable and checks it
measures what it says: ``off`` and the baseline send no span, ``on`` sends
exactly a server span and a callnos span per request.
"""

from __future__ import annotations

import pytest

from bench import tracing_cost


@pytest.mark.load
def test_the_tracing_section_measures_three_gateways_and_only_the_traced_one_exports():
    result = tracing_cost.run(rounds=1, per_round=20)
    assert set(result["cpu_us_per_request"]) == {"untraced", "off", "on"}
    assert all(value > 0 for value in result["cpu_us_per_request"].values())
    exported = result["spans_exported"]  # warm-up and round, "on" only (and its start's /healthz probes)
    assert (exported["POST /v1/call-data"], exported["upstream callnos"]) == (40, 40)
    assert set(exported) <= {"POST /v1/call-data", "upstream callnos", "GET /healthz"}
    assert "on - off" in tracing_cost.render(result)
