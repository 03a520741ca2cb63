"""Fault modes of the local server, switched at run time in-process and through /_emulator/*."""

from __future__ import annotations

import threading
import time

import pytest
import requests


def head(server, pathname: str = "x.txt", timeout: float = 10) -> requests.Response:
    return requests.get(
        server.api_url, params={"url": pathname}, headers={"authorization": f"Bearer {server.token}"}, timeout=timeout
    )


def put(server, pathname: str, body: bytes = b"x") -> requests.Response:
    return requests.put(
        server.api_url + "/",
        params={"pathname": pathname},
        data=body,
        headers={"authorization": f"Bearer {server.token}", "x-vercel-blob-access": server.access},
        timeout=10,
    )


def test_error_replies_for_a_number_of_requests(vercel_blob):
    vercel_blob.faults.fail(503, "service_unavailable", times=2)
    for _ in range(2):
        response = head(vercel_blob)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
    assert head(vercel_blob).status_code == 404  # the fault is used up; the blob simply is not there
    assert vercel_blob.request_count("head") == 3


def test_faults_apply_only_to_their_routes(vercel_blob):
    vercel_blob.faults.fail(500, "internal_server_error", routes="content")
    assert put(vercel_blob, "a.txt").status_code == 200
    assert requests.get(f"{vercel_blob.url_base}/a.txt", timeout=10).status_code == 500
    vercel_blob.faults.clear()
    vercel_blob.faults.fail(503, routes=["mpu"])
    assert put(vercel_blob, "b.txt").status_code == 200
    with pytest.raises(ValueError, match="unknown route"):
        vercel_blob.faults.fail(503, routes=["nope"])


def test_a_failed_put_stores_nothing_and_its_body_is_drained(vercel_blob):
    vercel_blob.faults.fail(503, routes="put", times=1)
    response = put(vercel_blob, "big.bin", b"z" * (3 * 1024 * 1024))
    assert response.status_code == 503  # the client reads the reply, not a connection reset
    assert vercel_blob.store.count() == 0


def test_rate_limit_with_retry_after(vercel_blob):
    vercel_blob.faults.rate_limit(retry_after=17, times=1)
    response = head(vercel_blob)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"
    assert response.json()["error"]["code"] == "rate_limited"


def test_slow_answers(vercel_blob):
    vercel_blob.faults.slow(0.6, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        head(vercel_blob, timeout=0.2)
    started = time.monotonic()
    assert head(vercel_blob).status_code == 404
    assert time.monotonic() - started < 0.5


def test_a_connection_cut_mid_body(vercel_blob):
    put(vercel_blob, "cut.bin", b"0123456789" * 1000)
    vercel_blob.faults.cut(after_bytes=100, routes="content", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{vercel_blob.url_base}/cut.bin", timeout=10).content  # noqa: B018 - reading is the point
    assert requests.get(f"{vercel_blob.url_base}/cut.bin", timeout=10).content == b"0123456789" * 1000


def test_refused_connections(vercel_blob):
    port = vercel_blob.port
    vercel_blob.refuse_connections()
    with pytest.raises(requests.exceptions.ConnectionError):
        head(vercel_blob, timeout=2)
    vercel_blob.accept_connections()
    assert vercel_blob.port == port
    assert head(vercel_blob).status_code == 404


def test_refusal_also_drops_kept_alive_connections(vercel_blob):
    with requests.Session() as session:
        session.headers["authorization"] = f"Bearer {vercel_blob.token}"
        assert session.get(vercel_blob.api_url, timeout=5).status_code == 200
        vercel_blob.refuse_connections()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(vercel_blob.api_url, timeout=2)
        vercel_blob.accept_connections()
        assert session.get(vercel_blob.api_url, timeout=5).status_code == 200


# --- control routes for a server in another process -----------------------------------------


def control(server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"{server.url_base}/_emulator/{path}",
        headers={"authorization": f"Bearer {server.token}"},
        timeout=10,
        **kwargs,
    )


def test_control_routes(vercel_blob):
    put(vercel_blob, "a.txt")
    rule = control(vercel_blob, "POST", "faults", json={"kind": "error", "status": 503, "routes": ["head"], "times": 1})
    assert rule.json()["remaining"] == 1
    assert head(vercel_blob, "a.txt").status_code == 503
    assert head(vercel_blob, "a.txt").status_code == 200
    control(vercel_blob, "POST", "faults", json={"kind": "rate_limit", "retry_after": 3})
    assert control(vercel_blob, "GET", "stats").json()["faults"][0]["retry_after"] == "3"
    control(vercel_blob, "DELETE", "faults")
    stats = control(vercel_blob, "GET", "stats").json()
    assert stats["counts"] == {"put": 1, "head": 2}
    assert stats["blobs"] == 1
    assert stats["faults"] == []
    assert control(vercel_blob, "POST", "faults", json={"kind": "explode"}).status_code == 400
    assert control(vercel_blob, "POST", "reset").status_code == 200
    assert vercel_blob.store.count() == 0


def test_control_routes_need_the_token(vercel_blob):
    response = requests.post(f"{vercel_blob.url_base}/_emulator/reset", timeout=10)
    assert response.status_code == 403


def test_timed_refusal_through_the_control_route(vercel_blob):
    assert control(vercel_blob, "POST", "refuse", json={"seconds": 0.5}).status_code == 200
    deadline = time.monotonic() + 2
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            head(vercel_blob, timeout=1)
        except requests.exceptions.ConnectionError:
            refused = True
        time.sleep(0.02)
    assert refused
    time.sleep(0.6)
    assert head(vercel_blob).status_code == 404
    assert control(vercel_blob, "POST", "refuse", json={}).status_code == 400


def test_concurrent_requests_are_counted_and_tracked(vercel_blob):
    vercel_blob.faults.slow(0.3, routes="head")
    threads = [threading.Thread(target=head, args=(vercel_blob,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert vercel_blob.request_count("head") == 4
    assert vercel_blob.peak_in_flight("head") == 4
