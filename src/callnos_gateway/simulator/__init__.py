"""A fake of the Huawei AICC iSales "callnos" upstream, for local runs and tests.

Why: the gateway must be run, tested, load-tested and benchmarked without the
real upstream, against something that behaves like it, flaws included (both
spellings of misspelled fields, both answer shapes, every ieData variant,
expiring tokens) and that misbehaves on demand (see ``callnos_gateway.simulator.faults``).
Standard library only.

In process::

    sim = Simulator(SimulatorConfig(port=0)).start()   # or Simulator(port=0)
    sim.url; sim.stats(); sim.push_faults("callnos", ["status:500", "ok"])
    sim.stop()

Out of process: ``python -m callnos_gateway.simulator --port 8081`` and the ``/_sim/...``
control routes (``callnos_gateway.simulator.control``).
"""

from .config import SimulatorConfig
from .faults import parse_fault
from .server import Simulator

__all__ = ["Simulator", "SimulatorConfig", "parse_fault"]
