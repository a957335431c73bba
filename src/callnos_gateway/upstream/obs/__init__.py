"""The upstream's OBS interfaces, one module each, named after the interface.

Each module holds its ``Interface`` (path setting, documented path, retry
rule), its request body and the reading of its answer:

    login       auth/login, auth/refresh        the token pair
    callnos     business/callnos                a batch of records (taken!)
    tasks       business/tasks                  task ids
    isholiday   business/isholiday              holiday or not
    call_result business/call/result            final result (a write)
    midresult   business/push/midresult         intermediate result (a write)
    discovery   business/interface              the paths the upstream reports

``exchange.Caller`` runs a call by its interface's rules; ``envelope`` reads
the ``{"result", "resultData"}`` every answer shares. Nothing here imports
from ``api``.
"""

from __future__ import annotations

from callnos_gateway.upstream.obs.call_result import RESULT
from callnos_gateway.upstream.obs.callnos import CALLNOS
from callnos_gateway.upstream.obs.discovery import DISCOVERY
from callnos_gateway.upstream.obs.interface import Interface
from callnos_gateway.upstream.obs.isholiday import HOLIDAY
from callnos_gateway.upstream.obs.login import LOGIN, REFRESH
from callnos_gateway.upstream.obs.midresult import MIDRESULT
from callnos_gateway.upstream.obs.tasks import TASKS

INTERFACES: tuple[Interface, ...] = (LOGIN, REFRESH, TASKS, CALLNOS, HOLIDAY, RESULT, MIDRESULT, DISCOVERY)
