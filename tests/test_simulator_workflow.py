"""The simulator's tasks, isholiday, write-backs and discovery, over real HTTP on loopback."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from callnos_gateway.simulator import Simulator, SimulatorConfig

OBS = "/rest/isales/v1/openapi/obs"
LOGIN, CALLNOS = f"{OBS}/auth/login", f"{OBS}/business/callnos"
TASKS, HOLIDAY, DISCOVERY = f"{OBS}/business/tasks", f"{OBS}/business/isholiday", f"{OBS}/business/interface"
RESULT, MIDRESULT = f"{OBS}/business/call/result", f"{OBS}/business/push/midresult"
CREDENTIALS = {"user": "demo", "passwd": "demo-password"}


@pytest.fixture
def started():
    sims: list[Simulator] = []

    def start(**overrides: Any) -> Simulator:
        sims.append(Simulator(SimulatorConfig(port=0, **overrides)).start())
        return sims[-1]

    yield start
    for sim in sims:
        sim.stop()


class Upstream:
    """A logged-in client of one simulator."""

    def __init__(self, sim: Simulator, kind: str = "token") -> None:
        self.sim, self.http = sim, requests.Session()
        self.http.trust_env = False
        grant = self.http.post(sim.url + LOGIN, json=CREDENTIALS, timeout=5).json()["resultData"]
        self.bearer = grant["token"] if kind == "token" else grant["refreshToken"]

    def post(self, path: str, body: Any, **headers: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.bearer}", **headers}
        return self.http.post(self.sim.url + path, json=body, headers=headers, timeout=5)

    def take(self, task: int, count: int) -> list[dict]:
        data = self.post(CALLNOS, {"subCCNo": 1, "vdnId": 1, "serviceId": task, "batchCount": count}).json()["resultData"]
        return data["taskData"] if "taskData" in data else [data]


def ids_of(record: dict) -> tuple[str, str]:
    return record.get("serviceId", record.get("seviceId")), record.get("uniqueId", record.get("uiqueId"))


def written(upstream: Upstream, record: dict, path: str = RESULT, **extra: Any) -> requests.Response:
    task, customer = ids_of(record)
    return upstream.post(path, {"subCCNo": 1, "vdnId": 1, "serviceId": task, "uniqueId": customer, **extra})


def test_tasks_answer_the_configured_list_in_every_shape(started):
    upstream = Upstream(started(tasks=(5, 6), spelling="mixed"))
    data = upstream.post(TASKS, {"subCCNo": 1, "vdnId": 1}).json()["resultData"]["taskData"]
    assert [list(item) for item in data] == [["seviceId"], ["serviceId"]]
    assert [str(next(iter(item.values()))) for item in data] == ["5", "6"]
    single = Upstream(started(tasks=(9,), shape="single", spelling="fixed"))
    assert single.post(TASKS, {"subCCNo": 1, "vdnId": 1}).json()["resultData"] == {"serviceId": "9"}


def test_isholiday_answers_one_for_configured_ids_only(started):
    upstream = Upstream(started(holidays=("7", "x"), spelling="doc"))
    values = [upstream.post(HOLIDAY, {"subCCNo": 1, "vdnId": 1, "holidayId": h}).json()["resultData"]["isHoliday"]
              for h in ("7", "x", "8")]
    assert values == [1, 1, 0]
    assert upstream.post(HOLIDAY, {"subCCNo": 1, "vdnId": 1, "holidayId": 7}).status_code == 400


def test_writes_of_handed_out_records_are_recorded_and_duplicates_counted(started):
    upstream = Upstream(started(spelling="mixed"))
    records = upstream.take(1001, 3)
    assert all(written(upstream, r, status="0", deviceType=5).json() == {"result": "0"} for r in records)
    assert written(upstream, records[0], MIDRESULT, status="1").json()["result"] == "0"
    assert written(upstream, records[0], MIDRESULT, status="1").json()["result"] == "0"
    assert written(upstream, records[1]).json()["result"] == "0"  # a second final result
    stats = upstream.sim.stats()
    assert stats["per_task"]["1:1:1001"] == {"taken": 3, "final_results": 3, "waiting": 0, "duplicates": 2}
    assert (stats["result_ok"], stats["midresult_ok"], stats["duplicates"]) == (4, 2, 2)
    assert stats["last_writes"][0]["deviceType"] == 5


def test_a_record_never_handed_out_is_refused_with_a_non_zero_result(started):
    upstream = Upstream(started())
    [record] = upstream.take(1001, 1)
    task, customer = ids_of(record)
    for body in ({"serviceId": task, "uniqueId": customer.replace("000001", "000002")},  # not taken yet
                 {"serviceId": "1002", "uniqueId": customer},  # another task
                 {"serviceId": task, "uniqueId": "nobody"}):
        answer = upstream.post(RESULT, {"subCCNo": 1, "vdnId": 1, **body})
        assert answer.status_code == 200 and answer.json()["result"] == "0300001"
    assert upstream.post(RESULT, {"subCCNo": 2, "vdnId": 1, "serviceId": task, "uniqueId": customer}).json()["result"] != "0"
    assert upstream.sim.stats()["writes_refused"] == 4 and upstream.sim.stats()["result_ok"] == 0


@pytest.mark.parametrize("change", [
    {"subCCNo": "1"}, {"vdnId": True}, {"serviceId": 1001}, {"uniqueId": None}, {"deviceType": "5"},
    {"status": 0}, {"endCallTime": 1}, {"unknown": "x"}, {"subCCNo": None},
])
def test_write_backs_check_mandatory_fields_and_types(started, change):
    upstream = Upstream(started())
    [record] = upstream.take(1001, 1)
    task, customer = ids_of(record)
    body = {"subCCNo": 1, "vdnId": 1, "serviceId": task, "uniqueId": customer, **change}
    body = {key: value for key, value in body.items() if not (key == "subCCNo" and value is None)}
    answer = upstream.post(RESULT, body)
    assert answer.status_code == 400 and answer.json()["result"] != "0"


def test_refresh_token_mode_accepts_only_the_refresh_token_on_every_business_route(started):
    sim = started(business_token="refresh_token")
    right, wrong = Upstream(sim, "refresh_token"), Upstream(sim, "token")
    for path, body in ((TASKS, {"subCCNo": 1, "vdnId": 1}), (DISCOVERY, {"version": 311}),
                       (HOLIDAY, {"subCCNo": 1, "vdnId": 1, "holidayId": "7"})):
        assert right.post(path, body).status_code == 200
        assert wrong.post(path, body).status_code == 401
    assert right.take(1001, 1) and wrong.post(CALLNOS, {}).status_code == 401


def test_discovery_reports_a_path_per_interface(started):
    data = Upstream(started()).post(DISCOVERY, {"version": 311}).json()["resultData"]
    assert data["version"] == "311" and data["getTask"] == TASKS and data["pushMidRlt"] == MIDRESULT


def test_faults_apply_per_route(started):
    sim = started()
    upstream = Upstream(sim)
    sim.push_faults("tasks", ["status:503"])
    sim.push_faults("discovery", ["result:9"])
    assert upstream.post(TASKS, {"subCCNo": 1, "vdnId": 1}).status_code == 503
    assert upstream.post(TASKS, {"subCCNo": 1, "vdnId": 1}).status_code == 200
    assert upstream.post(DISCOVERY, {"version": 311}).json()["result"] == "9"
    [record] = upstream.take(1001, 1)
    sim.push_faults("result", ["status:500"])  # a 5xx after the write: it was recorded
    assert written(upstream, record).status_code == 500
    assert sim.stats()["result_ok"] == 1
    control = requests.post(sim.url + "/_sim/faults", json={"endpoint": "midresult", "faults": ["status:502"]}, timeout=5)
    assert control.status_code == 200 and written(upstream, record, MIDRESULT).status_code == 502
