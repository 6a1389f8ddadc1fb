"""Structured logs: a request id on every line of a request (the client's when sane, else a fresh
one, echoed back), one access line per request with route, status and duration, JSON outside a
terminal and text in one."""
from __future__ import annotations

import io
import json
import logging

import pytest

from entrypoints import logs


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("INFO", "json", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_every_line_of_a_request_carries_its_id_and_the_access_line_closes_it(api, json_lines):
    sane = await api.client.get("/api/v1/products", headers={"X-Request-ID": "shop-7f3a.42"})
    assert sane.status == 200 and sane.headers["X-Request-ID"] == "shop-7f3a.42"
    for hostile in ("x" * 65, "a b", "id\u00e9", "", "4242-4242-4242-4242"):
        answered = await api.client.get("/api/v1/products", headers={"X-Request-ID": hostile})
        assert answered.headers["X-Request-ID"] != hostile and len(answered.headers["X-Request-ID"]) == 32
    fresh = await api.client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "wrong-pw-1"})
    assert fresh.status == 401 and len(fresh.headers["X-Request-ID"]) == 32
    assert not any(c.isdigit() for c in fresh.headers["X-Request-ID"])
    access = [line for line in json_lines() if line["logger"] == "payport.access"]
    first = access[0]
    assert first["request_id"] == "shop-7f3a.42" and first["route"] == "/api/v1/products"
    assert first["status"] == 200 and first["method"] == "GET" and first["duration_ms"] >= 0
    assert first["level"] == "INFO" and first["message"] == "GET /api/v1/products 200"
    last = access[-1]
    assert (last["request_id"], last["route"], last["status"]) == (fresh.headers["X-Request-ID"], "/api/v1/auth/login", 401)
    assert not any("wrong-pw-1" in json.dumps(line) or "nobody@" in json.dumps(line) for line in json_lines())


def test_a_line_logged_inside_a_request_carries_the_context(json_lines):
    token = logs.REQUEST.set(("rid-1", "/api/v1/orders/{order_id}"))
    try:
        logging.getLogger("payport.x").warning("inside")
    finally:
        logs.REQUEST.reset(token)
    logging.getLogger("payport.x").warning("outside")
    inside, outside = json_lines()
    assert (inside["request_id"], inside["route"], inside["message"]) == ("rid-1", "/api/v1/orders/{order_id}", "inside")
    assert "request_id" not in outside


def test_json_outside_a_terminal_text_in_one_and_a_setting_forces_either():
    assert logs.log_format({}, io.StringIO()) == "json"
    assert logs.log_format({}, Tty()) == "text"
    assert logs.log_format({"PAYPORT_LOG_FORMAT": "json"}, Tty()) == "json"
    assert logs.log_format({"PAYPORT_LOG_FORMAT": "TEXT"}, io.StringIO()) == "text"
    with pytest.raises(ValueError, match="json or text"):
        logs.log_format({"PAYPORT_LOG_FORMAT": "xml"}, Tty())


def test_text_lines_show_the_request_on_a_terminal():
    stream = Tty()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", None, stream)
        token = logs.REQUEST.set(("rid-2", "/health/live"))
        logging.getLogger("payport.x").info("hello")
        logs.REQUEST.reset(token)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert stream.getvalue().rstrip().endswith("INFO payport.x: hello [rid-2 /health/live]")


@pytest.mark.parametrize(("mode", "logged"), [
    ("all", [("GET", 200, 0.001), ("GET", 404, 0.001), ("POST", 500, 0.001), ("GET", 200, 2.5)]),
    ("errors", [("GET", 404, 0.001), ("POST", 500, 0.001), ("GET", 200, 2.5)]),
    ("off", []),
])
def test_the_access_setting_picks_which_requests_get_a_line(mode, logged):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", "json", stream, access=mode)
        for method, status, seconds in [("GET", 200, 0.001), ("GET", 404, 0.001), ("POST", 500, 0.001),
                                        ("GET", 200, 2.5)]:
            logs.access(method, "/api/v1/orders/{order_id}", status, seconds)
    finally:
        logs.configure("INFO", "json", io.StringIO(), access="all")
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["method"], line["status"], line["duration_ms"] / 1000) for line in lines] == logged


def test_the_access_setting_is_read_from_the_environment_and_refuses_what_it_does_not_know():
    assert logs.access_mode({}) == "all"
    assert logs.access_mode({"PAYPORT_ACCESS_LOG": " Errors "}) == "errors"
    with pytest.raises(ValueError, match="all, errors or off"):
        logs.access_mode({"PAYPORT_ACCESS_LOG": "some"})


def test_a_json_line_holds_what_json_cannot_an_exception_and_python_json_loggers_field_order(json_lines):
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"
    log = logging.getLogger("payport.x")
    log.info("values %s", 3, extra={"thing": Opaque(), "huge": 10**30, "nested": {"a": [1, 2]}})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    values, failed = json_lines()
    assert list(values)[:4] == ["time", "level", "logger", "message"]
    assert (values["message"], values["thing"], values["huge"], values["nested"]) == ("values 3", "opaque!", 10**30,
                                                                                      {"a": [1, 2]})
    assert len(values["time"]) == len("2026-12-02 03:50:19,749") and values["time"][-4] == ","
    assert failed["level"] == "ERROR" and "RuntimeError: boom" in failed["exc_info"] and "Traceback" in failed["exc_info"]


@pytest.mark.parametrize("variable", ["PAYPORT_ACCESS_LOG", "PAYPORT_LOG_FORMAT"])
def test_a_log_setting_that_cannot_work_stops_the_command_with_its_name(variable, monkeypatch, capsys):
    from entrypoints import cli
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setenv(variable, "sometimes")
    try:
        assert cli.main(["serve"]) == 2
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert variable in capsys.readouterr().err
