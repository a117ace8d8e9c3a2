"""The HTTP service as a real server process (``robomem serve`` under uvicorn on a free loopback
port) talked to with a real client (httpx): the answers are the Python functions' JSON, bad input
of every kind gets a 4xx with a message and the server keeps serving, a token is enforced off
127.0.0.1, the rate limit answers 429, and no query ever writes to the store — not even while
another process ingests into it. All traffic goes to loopback addresses only."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service_store import DAY, S, T0, build_store

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789abcdef"


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    env.pop("ROBOMEM_TOKEN", None)
    env.update(extra)
    return env


class Server:
    """``python -m robomem.cli serve STORE ...`` as a child process."""

    def __init__(self, store: Path, host: str = "127.0.0.1", args: tuple = (), env: dict | None = None) -> None:
        self.host, self.port = host, _free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "robomem.cli", "serve", str(store), "--host", host,
                                      "--port", str(self.port), *args], env=env or _env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, headers: dict | None = None, timeout: float = 120.0) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/v1/health", headers=headers, timeout=1.0).status_code in (200, 401):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _fingerprint(path: Path) -> tuple:
    """Bytes and mtimes of the store file and its WAL (the shared-memory index is not data)."""
    out = []
    for p in (path, Path(str(path) + "-wal")):
        if p.exists():
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()))
    return tuple(out)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("http") / "house.db"
    build_store(path)
    return path


@pytest.fixture(scope="module")
def server(store):
    srv = Server(store, args=("--rate", "0")).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url + "/v1", timeout=60.0) as c:
        yield c


def test_answers_are_the_python_functions_json(client, store):
    import robomem
    from robomem.service import browse
    with robomem.open(store, readonly=True, perception=None) as stack:
        expect = {
            "where": browse.where(stack, "mug"),
            "objects": browse.objects(stack),
            "timeline": browse.timeline(stack, object_id=2),
            "events": browse.events(stack, kinds=["moved"]),
            "where-was-i": browse.where_was_i(stack, T0 + 3 * S),
            "visits": browse.room_visits(stack, 2),
            "info": browse.store_info(stack),
        }
    assert client.post("/where", json={"label": "mug"}).json() == expect["where"]
    assert [a["object_id"] for a in expect["where"]] == [2, 1]    # the moved mug, seen last, first
    assert client.post("/objects", json={}).json() == expect["objects"]
    assert client.post("/timeline", json={"object_id": 2}).json() == expect["timeline"]
    assert client.post("/events", json={"kinds": ["moved"]}).json() == expect["events"]
    assert client.post("/where-was-i", json={"at_ns": T0 + 3 * S}).json() == expect["where-was-i"]
    assert client.post("/visits", json={"room_id": 2}).json() == expect["visits"]
    assert client.get("/info").json() == expect["info"]
    # as of day 1 the second mug was still on the kitchen table
    day1 = client.post("/objects", json={"label": "mug", "at_ns": T0 + 5 * S}).json()
    assert [(o["object_id"], o["room_id"]) for o in day1] == [(1, 1), (2, 1)]
    assert client.post("/where-was-i", json={"at_ns": T0 + 10 * DAY}).json() is None


QUESTIONS = ["where is the mug?", "where is the cup?", "where did I leave my keys?", "is the laptop still in room 2?",
             "what colour are the walls?", "where is the unicorn?", "mug'; DROP TABLE objects; --"]
QUERIES = [{"type": "where_is", "target": {"label": "mug"}}, {"type": "history", "target": {"label": "mug"}},
           {"type": "where_was_i", "at_ns": T0 + 3 * S}, {"type": "changes", "t0_ns": T0, "t1_ns": T0 + 2 * DAY},
           {"type": "count", "label": "mug"}, {"type": "when_seen", "target": {"label": "keys"}, "which": "last"}]


def test_ask_and_query_answer_as_python_does(client, store):
    import robomem
    from robomem.retrieval import ask, answer, query_from_dict
    with robomem.open(store, readonly=True, perception=None) as stack:
        expect_ask = [ask(stack, q).to_dict() for q in QUESTIONS]
        expect_query = [answer(stack, query_from_dict(q)).to_dict() for q in QUERIES]
    got_ask = [client.post("/ask", json={"text": q}).json() for q in QUESTIONS]
    assert got_ask == expect_ask
    assert got_ask[0]["kind"] == "objects" and got_ask[0]["evidence"][0]["object_id"] == 2
    assert [e["object_id"] for e in got_ask[1]["evidence"]] == [2, 1]     # "cup" found the mugs (label embeddings)
    assert got_ask[4]["kind"] == "unsupported" and got_ask[5]["kind"] == "dont_know"
    assert [client.post("/query", json=q).json() for q in QUERIES] == expect_query
    # every answer carries the query it answered, in the retrieval package's schema
    assert got_ask[0]["query"] == {"type": "where_is", "target": {"label": "mug"}}


def test_openapi_document_lists_the_endpoints(client, server):
    doc = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/where", "/v1/objects", "/v1/timeline", "/v1/events", "/v1/where-was-i", "/v1/visits", "/v1/ask",
            "/v1/query", "/v1/info"} <= set(doc["paths"])
    where = doc["components"]["schemas"]["WhereRequest"]
    assert where["additionalProperties"] is False and where["required"] == ["label"]
    # the typed-query body is the retrieval package's JSON Schema, references resolved in the document
    body = doc["paths"]["/v1/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Query"}
    schemas = doc["components"]["schemas"]
    refs = [r["$ref"].rsplit("/", 1)[1] for r in schemas["Query"]["oneOf"]]
    assert "WhereIs" in refs and all(r in schemas for r in refs) and "Target" in schemas
    assert "#/$defs/" not in str(doc)


BAD = [
    # (name, path, raw body bytes, extra headers, expected status, words in the message)
    ("malformed JSON", "/where", b'{"label": "mug"', {}, 400, "not valid JSON"),
    ("JSON array", "/where", b"[1, 2]", {}, 422, "dictionary"),
    ("unknown field", "/where", b'{"label": "mug", "colour": "red"}', {}, 422, "colour"),
    ("missing field", "/where", b"{}", {}, 422, "label"),
    ("wrong type", "/where", b'{"label": 5}', {}, 422, "string"),
    ("string number", "/objects", b'{"at_ns": "5"}', {}, 422, "integer"),
    ("float stamp", "/objects", b'{"at_ns": 1e300}', {}, 422, "integer"),
    ("negative stamp", "/where-was-i", b'{"at_ns": -1}', {}, 422, "greater than or equal"),
    ("absurd stamp", "/where-was-i", b'{"at_ns": 99999999999999999999999}', {}, 422, "at_ns"),
    ("reversed range", "/events", b'{"t0_ns": 10, "t1_ns": 5}', {}, 422, "reversed"),
    ("reversed timeline", "/timeline", b'{"object_id": 1, "t0_ns": 10, "t1_ns": 5}', {}, 422, "reversed"),
    ("bad kind", "/events", b'{"kinds": ["exploded"]}', {}, 422, "kinds"),
    ("limit zero", "/objects", b'{"limit": 0}', {}, 422, "limit"),
    ("huge label", "/where", ('{"label": "%s"}' % ("x" * 300)).encode(), {}, 422, "label"),
    ("control chars", "/where", b'{"label": "mug\\u0000"}', {}, 422, "control"),
    ("non-UTF-8", "/where", b'{"label": "\xff\xfe mug"}', {}, 400, "UTF-8"),
    ("latin-1 declared", "/where", '{"label": "t\u00e4sse"}'.encode("latin-1"), {}, 400, "UTF-8"),
    ("oversized", "/where", b'{"label": "' + b"x" * 20_000 + b'"}', {}, 413, "limit"),
    ("form body", "/where", b"label=mug", {"content-type": "application/x-www-form-urlencoded"}, 415, "JSON"),
    ("no object_id or label", "/timeline", b"{}", {}, 422, "object_id or label"),
    ("both object_id and label", "/timeline", b'{"object_id": 1, "label": "mug"}', {}, 422, "exactly one"),
    ("wrong method", "/where", None, {}, 405, "Method"),
    ("unknown path", "/drop_table", b"{}", {}, 404, "Not Found"),
    ("typed query not an object", "/query", b'"where is the mug"', {}, 422, "JSON object"),
    ("typed query malformed", "/query", b'{"type": "where_is", "target": ', {}, 400, "not valid JSON"),
    ("unknown query type", "/query", b'{"type": "drop_table"}', {}, 422, "query.type"),
    ("unknown query field", "/query", b'{"type": "where_is", "target": {"label": "mug"}, "limit": 3}', {}, 422,
     "unknown field"),
    ("query missing field", "/query", b'{"type": "where_is"}', {}, 422, "target"),
    ("query reversed times", "/query", b'{"type": "changes", "t0_ns": 2000000000, "t1_ns": 1000000000}', {}, 422,
     "t1_ns"),
    ("query absurd time", "/query", b'{"type": "where_was_i", "at_ns": 1e30}', {}, 422, "at_ns"),
    ("query negative time", "/query", b'{"type": "where_was_i", "at_ns": -5}', {}, 422, "at_ns"),
    ("query bool time", "/query", b'{"type": "where_was_i", "at_ns": true}', {}, 422, "at_ns"),
    ("query non-UTF-8", "/query", b'{"type": "where_is", "target": {"label": "\xc3\x28"}}', {}, 400, "UTF-8"),
    ("query NaN", "/query", b'{"type": "where_was_i", "at_ns": NaN}', {}, 400, "NaN"),
    ("query deeply nested", "/query", b"[" * 5000 + b"]" * 5000, {}, 400, "JSON"),
    ("deeply nested", "/where", b'{"label": ' + b"[" * 5000 + b"]" * 5000 + b"}", {}, 400, "JSON"),
    ("NaN", "/where-was-i", b'{"at_ns": NaN}', {}, 422, "integer"),
    ("empty question", "/ask", b'{"text": ""}', {}, 422, "question"),
    ("blank question", "/ask", b'{"text": "   "}', {}, 422, "question"),
    ("question too long", "/ask", ('{"text": "%s"}' % ("where is " * 400)).encode(), {}, 422, "text"),
    ("question wrong type", "/ask", b'{"text": ["where", "is"]}', {}, 422, "string"),
    ("question unknown field", "/ask", b'{"text": "where is the mug?", "lang": "en"}', {}, 422, "lang"),
    ("question absurd now", "/ask", b'{"text": "where is the mug?", "now_ns": 123456789012345678901234}', {}, 422,
     "now_ns"),
]


@pytest.mark.parametrize("name,path,body,headers,status,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gets_a_4xx_with_a_message(client, name, path, body, headers, status, words):
    h = {"content-type": "application/json", **headers}
    r = client.get(path) if body is None else client.post(path, content=body, headers=h)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["error"] and err["message"]
    if words:
        assert words.lower() in err["message"].lower(), err
    assert client.get("/health").json() == {"status": "ok"}    # still serving


def test_chunked_oversized_body_is_refused_without_reading_it_all(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 1024
    r = client.post("/where", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["message"]


def test_endless_headers_are_refused_and_the_server_keeps_serving(server, client):
    # uvicorn caps the head only for h11; with httptools robomem's protocol caps it (431)
    import socket
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /v1/where HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")
        try:
            for _ in range(64):                 # 4 MiB of headers, never ending
                s.sendall(b"x-pad: " + b"a" * 65536 + b"\r\n")
        except OSError:
            pass                                # the server closed the connection: refused
        reply = s.recv(65536)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431") or reply.startswith(b"HTTP/1.1 400"), reply[:80]
    assert client.get("/health").json() == {"status": "ok"}


def test_sql_looking_strings_are_just_labels_and_nothing_changes(client, store):
    before = _fingerprint(store)
    for label in ["mug'; DROP TABLE objects; --", "\" OR 1=1 --", "mug) UNION SELECT * FROM sqlite_master --",
                  "%", "_", "*"]:
        r = client.post("/where", json={"label": label})
        assert r.status_code == 200 and r.json() == []
        r = client.post("/objects", json={"label": label})
        assert r.status_code == 200 and r.json() == []
    assert len(client.post("/objects", json={}).json()) == 4
    assert _fingerprint(store) == before


def test_queries_never_write_to_the_store(client, store):
    before = _fingerprint(store)
    for _ in range(3):
        for path, body in [("/where", {"label": "mug"}), ("/objects", {}), ("/events", {}),
                           ("/timeline", {"label": "mug"}), ("/where-was-i", {"at_ns": T0}),
                           ("/visits", {"room_id": 1}), ("/where", {"label": "x", "junk": 1}),
                           ("/ask", {"text": "where is the mug?"}), ("/ask", {"text": "what changed yesterday?"}),
                           ("/query", {"type": "where_is", "target": {"label": "keys"}})]:
            client.post(path, json=body)
        client.get("/info")
    assert _fingerprint(store) == before


def test_token_required_off_127_0_0_1(store):
    # without a token the service refuses to bind anywhere but 127.0.0.1
    p = subprocess.run([sys.executable, "-m", "robomem.cli", "serve", str(store), "--host", "127.0.0.2",
                        "--port", str(_free_port())], env=_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "needs a bearer token" in p.stderr
    p = subprocess.run([sys.executable, "-m", "robomem.cli", "serve", str(store), "--host", "127.0.0.2"],
                       env=_env(ROBOMEM_TOKEN="short"), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "at least 16 characters" in p.stderr
    # two uvicorn workers: the settings, token included, reach them through the factory's environment
    srv = Server(store, host="127.0.0.2", args=("--rate", "0", "--no-warm", "--workers", "2"),
                 env=_env(ROBOMEM_TOKEN=TOKEN)).wait_ready()
    try:
        url = srv.url + "/v1/where"
        r = httpx.post(url, json={"label": "mug"})
        assert r.status_code == 401 and "missing bearer token" in r.json()["message"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = httpx.post(url, json={"label": "mug"}, headers={"authorization": "Bearer " + TOKEN[:-1] + "X"})
        assert r.status_code == 401 and "wrong" in r.json()["message"]
        r = httpx.post(url, json={"label": "mug"}, headers={"authorization": "Basic " + TOKEN})
        assert r.status_code == 401
        # the body of an unauthenticated client is not even read: an oversized one still gets 401
        r = httpx.post(url, content=b"x" * 100_000, headers={"content-type": "application/json"})
        assert r.status_code == 401
        r = httpx.post(url, json={"label": "mug"}, headers={"authorization": "Bearer " + TOKEN})
        assert r.status_code == 200 and [a["object_id"] for a in r.json()] == [2, 1]
    finally:
        srv.stop()


def test_rate_limit_answers_429_then_recovers(store):
    srv = Server(store, args=("--rate", "5", "--burst", "5", "--no-warm")).wait_ready()
    try:
        with httpx.Client(base_url=srv.url + "/v1") as c:
            codes = [c.post("/where", json={"label": "mug"}).status_code for _ in range(12)]
            assert codes[:3] == [200, 200, 200] and 429 in codes
            r = c.post("/where", json={"label": "mug"})
            if r.status_code == 429:
                assert "requests/s" in r.json()["message"] and int(r.headers["retry-after"]) >= 1
            time.sleep(1.2)
            assert c.post("/where", json={"label": "mug"}).status_code == 200
    finally:
        srv.stop()


WRITER = r"""
import sys, numpy as np, robomem
from robomem import ObjectObservation
S = 10**9
with robomem.open(sys.argv[1], perception=None, consolidation_interval_ns=0) as st:
    t = int(sys.argv[2])
    st.begin_session("wednesday", t)
    for k in range(40):
        t += S // 10
        p = np.array([2.0, 2.0 + 0.01 * k, 0.5])
        st.record(t, [ObjectObservation(100 + k, "book", t, p, p - 0.05, p + 0.05)], robot_position=(2.0, 0.0, 0.0),
                  robot_room=1)
        st.flush()
    st.end_session(t + S)
print("done")
"""


def test_serves_while_another_process_ingests(client, store):
    before = client.get("/info").json()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store), str(T0 + 2 * DAY)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    codes, seen_books = [], set()
    engine_q = {"type": "where_is", "target": {"label": "book"}}
    while writer.poll() is None:
        r = client.post("/where", json={"label": "book"})
        codes.append(r.status_code)
        seen_books.add(len(r.json()))
        codes.append(client.post("/query", json=engine_q).status_code)
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    after = client.get("/info").json()
    assert set(codes) == {200}
    assert after["objects"] == before["objects"] + 40
    assert len(client.post("/where", json={"label": "book"}).json()) == 40
    ans = client.post("/query", json=engine_q).json()          # the engine sees the new objects too
    assert ans["kind"] == "objects" and ans["evidence"] and {e["label"] for e in ans["evidence"]} == {"book"}
    assert client.post("/where", json={"label": "mug"}).status_code == 200
