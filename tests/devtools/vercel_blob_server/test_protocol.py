"""The local server's API, spoken over raw HTTP: the §14 checklist of the protocol notes, rule by rule."""

from __future__ import annotations

import hashlib
import http.client
import json
import re

import pytest
import requests

from devtools.vercel_blob_server import VercelBlobServer
from devtools.vercel_blob_server.store import ALREADY_EXISTS_MESSAGE, MIN_PART_SIZE

MiB = 1024 * 1024


class Api:
    """Small helpers around requests for one server."""

    def __init__(self, server: VercelBlobServer) -> None:
        self.server = server
        self.auth = {"authorization": f"Bearer {server.token}", "x-api-version": "12"}

    def put(self, pathname: str, body: bytes = b"x", *, slash: bool = True, **headers) -> requests.Response:
        headers = {"x-vercel-blob-access": self.server.access, **self.auth, **headers}
        return requests.put(
            self.server.api_url + ("/" if slash else ""),
            params={"pathname": pathname},
            data=body,
            headers=headers,
            timeout=10,
        )

    def head(self, url: str) -> requests.Response:
        return requests.get(self.server.api_url, params={"url": url}, headers=self.auth, timeout=10)

    def list(self, **params) -> requests.Response:
        return requests.get(self.server.api_url, params=params, headers=self.auth, timeout=10)

    def mpu(self, action: str, pathname: str, body: bytes | None = None, **headers) -> requests.Response:
        headers = {"x-vercel-blob-access": self.server.access, **self.auth, "x-mpu-action": action, **headers}
        return requests.post(
            f"{self.server.api_url}/mpu", params={"pathname": pathname}, data=body, headers=headers, timeout=30
        )

    def delete(self, urls: list[str], **headers) -> requests.Response:
        return requests.post(
            f"{self.server.api_url}/delete", json={"urls": urls}, headers={**self.auth, **headers}, timeout=10
        )


@pytest.fixture
def api(vercel_blob) -> Api:
    return Api(vercel_blob)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


# --- routing and auth ----------------------------------------------------------------------


def test_put_answers_with_and_without_the_trailing_slash(api):
    assert api.put("a.txt", slash=True).status_code == 200
    assert api.put("b.txt", slash=False).status_code == 200
    assert api.list().json()["blobs"][1]["pathname"] == "b.txt"


def test_a_plus_in_the_query_is_a_space(api, vercel_blob):
    response = requests.put(
        vercel_blob.api_url + "/?pathname=my+file.txt",
        data=b"x",
        headers={"x-vercel-blob-access": "public", **api.auth},
        timeout=10,
    )
    assert response.json()["pathname"] == "my file.txt"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Basic abc", "Bearer vercel_blob_rw_teststore123_wrongsecret", "Bearer vercel_blob_client_x_y"],
)
def test_requests_without_the_right_token_are_forbidden(vercel_blob, authorization):
    headers = {"x-vercel-blob-access": "public"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = requests.put(
        vercel_blob.api_url + "/", params={"pathname": "x.txt"}, data=b"x", headers=headers, timeout=10
    )
    assert error_of(response)[:2] == (403, "forbidden")
    assert vercel_blob.store.count() == 0


def test_unknown_routes_are_a_bad_request(api, vercel_blob):
    response = requests.post(f"{vercel_blob.api_url}/nope", headers=api.auth, timeout=10)
    assert error_of(response)[:2] == (400, "bad_request")
    response = api.mpu("explode", "x.bin")
    assert error_of(response)[:2] == (400, "bad_request")


# --- put rules -----------------------------------------------------------------------------


def test_overwrite_is_refused_with_the_real_message_unless_allowed(api):
    assert api.put("o.txt", b"1").status_code == 200
    assert error_of(api.put("o.txt", b"2")) == (400, "bad_request", ALREADY_EXISTS_MESSAGE)
    assert api.put("o.txt", b"3", **{"x-allow-overwrite": "1"}).status_code == 200
    assert api.head("o.txt").json()["size"] == 1
    assert requests.get(f"{api.server.url_base}/o.txt", timeout=10).content == b"3"


def test_if_match_guards_the_write(api):
    etag = api.put("m.txt", b"v1").json()["etag"]
    assert error_of(api.put("m.txt", b"v2", **{"x-if-match": '"stale"', "x-allow-overwrite": "1"}))[:2] == (
        412,
        "precondition_failed",
    )
    assert api.put("m.txt", b"v2", **{"x-if-match": etag, "x-allow-overwrite": "1"}).status_code == 200
    assert error_of(api.put("never.txt", b"v", **{"x-if-match": etag}))[0] == 412


def test_random_suffix_goes_before_the_extension(api):
    for pathname, pattern in (("dir/name.tar.gz", r"dir/name\.tar-\w{30}\.gz"), ("noext", r"noext-\w{30}")):
        result = api.put(pathname, **{"x-add-random-suffix": "1"}).json()
        assert re.fullmatch(pattern, result["pathname"])
        assert result["url"].endswith(result["pathname"])


@pytest.mark.parametrize(
    ("pathname", "message"),
    [("a//b.txt", '"//"'), ("x" * 951, "maximum length is 950"), ("bad\x01.txt", "control characters")],
)
def test_invalid_pathnames(api, pathname, message):
    status, code, text = error_of(api.put(pathname))
    assert (status, code) == (400, "bad_request")
    assert message in text


def test_the_access_header_must_match_the_store(api):
    assert "Missing x-vercel-blob-access" in error_of(api.put("a.txt", **{"x-vercel-blob-access": ""}))[2]
    assert "private access on a public store" in error_of(api.put("a.txt", **{"x-vercel-blob-access": "private"}))[2]


def test_cache_control_max_age_is_kept_with_a_one_minute_floor(api):
    api.put("c1.txt", **{"x-cache-control-max-age": "3600"})
    api.put("c2.txt", **{"x-cache-control-max-age": "5"})
    assert api.head("c1.txt").json()["cacheControl"] == "public, max-age=3600"
    assert api.head("c2.txt").json()["cacheControl"] == "public, max-age=60"


def _raw_put(server: VercelBlobServer, headers: dict[str, str], body_chunks: list[bytes]) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("PUT", "/api/blob/?pathname=raw.bin")
    for name, value in {"authorization": f"Bearer {server.token}", "x-vercel-blob-access": "public", **headers}.items():
        connection.putheader(name, value)
    connection.endheaders()
    for chunk in body_chunks:
        connection.send(chunk)
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, payload


def _chunked(*parts: bytes) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n\r\n"]


def test_a_chunked_body_needs_x_content_length(vercel_blob):
    status, payload = _raw_put(vercel_blob, {"transfer-encoding": "chunked"}, _chunked(b"hello ", b"world"))
    assert status == 400
    assert payload["error"]["message"] == "Missing [x]-content-length header."
    status, payload = _raw_put(
        vercel_blob, {"transfer-encoding": "chunked", "x-content-length": "0"}, _chunked(b"hello ", b"world")
    )
    assert status == 200
    assert requests.get(payload["url"], timeout=10).content == b"hello world"


# --- head, list ----------------------------------------------------------------------------


def test_head_accepts_local_and_blob_host_urls_but_not_foreign_ones(api, vercel_blob):
    url = api.put("dir/h.txt").json()["url"]
    blob_host = f"https://{vercel_blob.store_id.lower()}.public.blob.vercel-storage.com/dir/h.txt"
    for target in (url, blob_host, "dir/h.txt"):
        assert api.head(target).json()["pathname"] == "dir/h.txt"
    for foreign in ("https://otherstore.public.blob.vercel-storage.com/dir/h.txt", "http://example.com/dir/h.txt"):
        assert error_of(api.head(foreign))[:2] == (404, "not_found")


def test_list_expanded_pages(api):
    for index in range(5):
        api.put(f"p/{index}.txt")
    first = api.list(prefix="p/", limit=2).json()
    assert [blob["pathname"] for blob in first["blobs"]] == ["p/0.txt", "p/1.txt"]
    assert first["hasMore"] is True
    assert set(first["blobs"][0]) == {"url", "downloadUrl", "pathname", "size", "uploadedAt", "etag"}
    second = api.list(prefix="p/", limit=2, cursor=first["cursor"]).json()
    third = api.list(prefix="p/", limit=2, cursor=second["cursor"]).json()
    assert [blob["pathname"] for blob in third["blobs"]] == ["p/4.txt"]
    assert third["hasMore"] is False
    assert "cursor" not in third
    assert "folders" not in third


def test_list_folded_pages_count_folders_as_entries(api):
    for name in ("f/a.txt", "f/b-x/1.txt", "f/b/1.txt", "f/b/2/3.txt", "f/c.txt", "f/d/4.txt"):
        api.put(name)
    seen_blobs, seen_folders, cursor = [], [], None
    while True:
        page = api.list(prefix="f/", mode="folded", limit=2, **({"cursor": cursor} if cursor else {})).json()
        assert len(page["blobs"]) + len(page["folders"]) <= 2
        seen_blobs += [blob["pathname"] for blob in page["blobs"]]
        seen_folders += page["folders"]
        if not page["hasMore"]:
            break
        cursor = page["cursor"]
    assert seen_blobs == ["f/a.txt", "f/c.txt"]
    assert seen_folders == ["f/b-x/", "f/b/", "f/d/"]


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"mode": "tree"}, {"cursor": "%%%"}]
)
def test_list_refuses_bad_parameters(api, params):
    assert error_of(api.list(**params))[:2] == (400, "bad_request")


# --- copy, rename, delete ------------------------------------------------------------------


def test_copy_and_rename(api, vercel_blob):
    api.put("src.txt", b"content")
    copy = requests.put(
        vercel_blob.api_url,
        params={"pathname": "dst.txt", "fromUrl": f"{vercel_blob.url_base}/src.txt"},
        headers={"x-vercel-blob-access": "public", **api.auth},
        timeout=10,
    )
    assert copy.json()["pathname"] == "dst.txt"
    renamed = requests.post(
        f"{vercel_blob.api_url}/rename",
        params={"pathname": "moved.txt", "fromUrl": "dst.txt"},
        headers={"x-vercel-blob-access": "public", **api.auth},
        timeout=10,
    )
    assert renamed.json()["pathname"] == "moved.txt"
    assert [blob["pathname"] for blob in api.list().json()["blobs"]] == ["moved.txt", "src.txt"]


def test_delete_answers_json_and_ignores_missing_blobs(api):
    api.put("one.txt")
    response = api.delete(["one.txt", "two.txt"])
    assert response.status_code == 200
    assert response.json() == {}
    assert api.list().json()["blobs"] == []


@pytest.mark.parametrize("body", [{"urls": []}, {"urls": "a.txt"}, {"nope": 1}, [1, 2]])
def test_delete_refuses_malformed_bodies(api, vercel_blob, body):
    response = requests.post(f"{vercel_blob.api_url}/delete", json=body, headers=api.auth, timeout=10)
    assert error_of(response)[:2] == (400, "bad_request")


def test_delete_if_match_needs_a_single_target(api):
    assert error_of(api.delete(["a.txt", "b.txt"], **{"x-if-match": '"x"'}))[:2] == (400, "bad_request")


# --- multipart -----------------------------------------------------------------------------


def test_multipart_parts_are_assembled_by_number_not_by_completion_order(api, vercel_blob):
    created = api.mpu("create", "mpu/out-of-order.bin").json()
    ids = {"x-mpu-upload-id": created["uploadId"], "x-mpu-key": created["key"]}
    part_one, part_two = b"1" * MIN_PART_SIZE, b"2" * 1000
    etag_two = api.mpu("upload", "mpu/out-of-order.bin", part_two, **ids, **{"x-mpu-part-number": "2"}).json()["etag"]
    etag_one = api.mpu("upload", "mpu/out-of-order.bin", part_one, **ids, **{"x-mpu-part-number": "1"}).json()["etag"]
    completed = api.mpu(
        "complete",
        "mpu/out-of-order.bin",
        json.dumps([{"etag": etag_two, "partNumber": 2}, {"etag": etag_one, "partNumber": 1}]).encode(),
        **ids,
    )
    assert completed.status_code == 200
    content = requests.get(completed.json()["url"], timeout=30).content
    assert content == part_one + part_two
    # Joined without a second hashing pass: the ETag is S3's multipart form, from the parts' own MD5s.
    digests = b"".join(hashlib.md5(part).digest() for part in (part_one, part_two))  # noqa: S324
    assert completed.json()["etag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'  # noqa: S324
    # the upload is gone once completed
    again = api.mpu("complete", "mpu/out-of-order.bin", b"[]", **ids)
    assert error_of(again)[:2] == (404, "not_found")


def test_multipart_checks_parts(api):
    created = api.mpu("create", "mpu/checked.bin").json()
    ids = {"x-mpu-upload-id": created["uploadId"], "x-mpu-key": created["key"]}
    small = api.mpu("upload", "mpu/checked.bin", b"small", **ids, **{"x-mpu-part-number": "1"}).json()["etag"]
    last = api.mpu("upload", "mpu/checked.bin", b"last", **ids, **{"x-mpu-part-number": "2"}).json()["etag"]

    def complete(parts) -> requests.Response:
        return api.mpu("complete", "mpu/checked.bin", json.dumps(parts).encode(), **ids)

    assert (
        "smaller than the minimum"
        in error_of(complete([{"etag": small, "partNumber": 1}, {"etag": last, "partNumber": 2}]))[2]
    )
    assert "etag does not match" in error_of(complete([{"etag": '"wrong"', "partNumber": 1}]))[2]
    assert "not uploaded" in error_of(complete([{"etag": small, "partNumber": 9}]))[2]
    assert error_of(complete([]))[0] == 400
    assert error_of(api.mpu("upload", "mpu/checked.bin", b"x", **ids, **{"x-mpu-part-number": "0"}))[0] == 400
    foreign = {"x-mpu-upload-id": "nope", "x-mpu-key": created["key"]}
    assert error_of(api.mpu("upload", "mpu/checked.bin", b"x", **foreign, **{"x-mpu-part-number": "1"}))[0] == 404
    assert complete([{"etag": small, "partNumber": 1}]).status_code == 200  # one small part is also the last


def test_multipart_create_refuses_a_taken_name_and_keeps_the_random_suffix(api):
    api.put("mpu/taken.bin")
    assert error_of(api.mpu("create", "mpu/taken.bin"))[2] == ALREADY_EXISTS_MESSAGE
    created = api.mpu("create", "mpu/taken.bin", **{"x-add-random-suffix": "1"}).json()
    assert created["key"].startswith("mpu/taken-")
    ids = {"x-mpu-upload-id": created["uploadId"], "x-mpu-key": created["key"]}
    etag = api.mpu("upload", "mpu/taken.bin", b"z", **ids, **{"x-mpu-part-number": "1"}).json()["etag"]
    done = api.mpu("complete", "mpu/taken.bin", json.dumps([{"etag": etag, "partNumber": 1}]).encode(), **ids).json()
    assert done["pathname"] == created["key"]


# --- persistence ---------------------------------------------------------------------------


def test_a_new_server_on_the_same_folder_sees_the_blobs(tmp_path):
    token = "vercel_blob_rw_persist1_secretsecretsecret"
    with VercelBlobServer(token=token, data_dir=tmp_path) as first:
        Api(first).put("kept.txt", b"still here")
    with VercelBlobServer(token=token, data_dir=tmp_path) as second:
        assert requests.get(f"{second.url_base}/kept.txt", timeout=10).content == b"still here"
        assert Api(second).head("kept.txt").json()["size"] == 10


def test_a_malformed_token_is_refused_at_start():
    with pytest.raises(ValueError, match="vercel_blob_rw_<storeId>_<secret>"):
        VercelBlobServer(token="not-a-token")
