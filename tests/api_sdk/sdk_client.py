"""A client of Syncline's API written only with the official ``hightouch`` SDK.

It runs inside the SDK's own virtual environment, never imports Syncline, and is
driven by the tests through a subprocess: one JSON request on stdin, one JSON answer
on stdout. Every answer carries the HTTP status, what the SDK parsed (as plain JSON)
and the warnings the SDK's decoder raised, so a test sees exactly what a user of the
SDK would get.

Request: ``{"server": url, "key": key, "calls": [{"op": name, ...arguments}]}``.
Answer: a list with one ``{"op", "status", "parsed", "warnings"}`` per call. A
``runId`` of ``"$last"`` stands for the id of the run the previous call triggered.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import time
import warnings
from datetime import datetime
from typing import Any

import hightouch
from hightouch.models import operations, shared

TERMINAL = {"cancelled", "failed", "success", "warning", "interrupted"}
"""The run statuses the official clients stop polling at."""


def plain(value: Any) -> Any:
    """What the SDK parsed, as JSON: dataclasses by their wire names, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # The parsed Python values (datetime, enums), each under its name on the wire.
        shape = {}
        for field in dataclasses.fields(value):
            naming = field.metadata.get("dataclasses_json", {}).get("letter_case")
            shape[naming(field.name) if naming else field.name] = getattr(value, field.name)
        return plain(shape)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return {"enum": type(value).__name__, "value": value.value}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    return value


def trigger_run(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    body = call.get("body")
    request = operations.TriggerRunRequest(
        sync_id=call["syncId"],
        trigger_run_input=shared.TriggerRunInput(**body) if body is not None else None,
    )
    response = sdk.trigger_run(request, operations.TriggerRunSecurity(bearer_auth=key))
    return response, response.trigger_run_output or response.validate_error_json


def trigger_run_custom(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    request = shared.TriggerRunCustomInput(**call["body"])
    security = operations.TriggerRunCustomSecurity(bearer_auth=key)
    response = sdk.trigger_run_custom(request, security)
    parsed = response.trigger_run_custom_200_application_json_any_of
    return response, parsed if parsed is not None else response.validate_error_json


def list_sync_runs(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    arguments = dict(call["query"])
    for name in ("after", "before"):
        if name in arguments:
            arguments[name] = datetime.fromisoformat(arguments[name])
    if "order_by" in arguments:
        arguments["order_by"] = operations.ListSyncRunsOrderBy(arguments["order_by"])
    if "run_id" in arguments:
        arguments["run_id"] = float(arguments["run_id"])
    # The SDK types these ids as floats, so they go out as "5.0", as a user's would.
    request = operations.ListSyncRunsRequest(sync_id=float(call["syncId"]), **arguments)
    response = sdk.list_sync_runs(request, operations.ListSyncRunsSecurity(bearer_auth=key))
    return response, (
        response.list_sync_runs_200_application_json_object or response.validate_error_json
    )


def wait_for_run(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    """Poll one run the way the official clients do, until its status is terminal.

    Only the last poll's decoder warnings are reported: an in-flight run has no finish
    time yet, which the SDK merely warns about.
    """
    query = {"run_id": call["runId"]}
    deadline = time.monotonic() + float(call.get("timeout", 60))
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response, parsed = list_sync_runs(sdk, key, {"syncId": call["syncId"], "query": query})
        runs = getattr(parsed, "data", None) or []
        if response.status_code != 200 or not runs or runs[0].status.value in TERMINAL:
            return response, runs[0] if runs else parsed, caught
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {call['runId']} still {runs[0].status.value}")
        time.sleep(float(call.get("every", 0.1)))


def get_sync(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    request = operations.GetSyncRequest(sync_id=float(call["syncId"]))
    response = sdk.get_sync(request, operations.GetSyncSecurity(bearer_auth=key))
    return response, response.sync


def create(sdk: hightouch.Hightouch, key: str, call: dict[str, Any]) -> Any:
    """Create a source, model, destination or sync from its SDK input class."""
    kind = call["kind"]
    with warnings.catch_warnings():
        # A manual sync's schedule is null, which the SDK's SyncCreate types as required.
        warnings.simplefilter("ignore")
        request = getattr(shared, f"{kind.capitalize()}Create").from_dict(call["body"])
    method = getattr(sdk, f"create_{kind}")
    security = getattr(operations, f"Create{kind.capitalize()}Security")(bearer_auth=key)
    response = method(request, security)
    parsed = getattr(response, f"create_{kind}_200_application_json_any_of")
    return response, parsed if parsed is not None else response.validate_error_json


OPERATIONS = {
    "trigger_run": trigger_run,
    "trigger_run_custom": trigger_run_custom,
    "list_sync_runs": list_sync_runs,
    "wait_for_run": wait_for_run,
    "get_sync": get_sync,
    "create": create,
}


def main() -> None:
    request = json.load(sys.stdin)
    sdk = hightouch.Hightouch(server_url=request["server"])
    answers: list[dict[str, Any]] = []
    for call in request["calls"]:
        if call.get("runId") == "$last":
            # The run the previous call triggered: TriggerRunOutput.id, a string.
            call["runId"] = answers[-1]["parsed"]["id"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response, parsed, *own = OPERATIONS[call["op"]](sdk, request["key"], call)
        if own:
            caught = own[0]
        answers.append(
            {
                "op": call["op"],
                "status": response.status_code,
                "parsed": plain(parsed),
                "warnings": [str(warning.message) for warning in caught],
            }
        )
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
