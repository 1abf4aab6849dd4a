"""The MCP server (`osler mcp`), driven through the SDK's own client over stdio and over
streamable HTTP, on a private copy of the whole corpus with one approved article."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx
import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from conftest import cli_env, copy_data_dir, open_osler, statements
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult
from test_answer import assert_faithful

from osler import mcp as osler_mcp
from osler.audience import DISCLAIMER, READERS
from osler.models import Answer, EvidenceLevel, IngestSummary, Role
from osler.review import articles
from osler.store import open_store, review_store

FLAGSHIP = "What is the recommended treatment for liver metastases (mets) from gallbladder cancer?"
PDQ = "nci:types/gallbladder/hp/gallbladder-treatment-pdq"
APPROVED = "What are the treatments for gallbladder cancer?"
TOOLS = {"search_evidence", "ask", "get_passage", "get_document", "list_sources"}
TOKEN = "test-token-0123456789abcdef"
STARTUP = 120  # seconds a server may take to open the whole corpus on a busy machine


# --- the corpus, the servers, the clients ---------------------------------------------------


@pytest.fixture(scope="module")
def served(
    whole_corpus: tuple[Path, IngestSummary], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A private copy of the whole corpus (the servers write conversations) holding one
    approved article; (data dir, article id)."""
    data = copy_data_dir(whole_corpus[0], tmp_path_factory.mktemp("mcp") / "data")
    with open_osler(data) as osler:
        editor = osler.reviews.add_user("ed", [Role.EDITOR], "MD")
        reviewer = osler.reviews.add_user("rev", [Role.REVIEWER], "MD")
        article = osler.create_article(APPROVED, "clinician", editor)
        for action, who in (("submit", editor), ("start", reviewer), ("approve", reviewer)):
            article = articles.transition(osler.reviews, article.id, action, who, article.revision)
    return data, article.id


class Client:
    """An MCP client session used from synchronous tests (the event loop runs in a portal)."""

    def __init__(self, portal: BlockingPortal, session: ClientSession) -> None:
        self.portal, self.session = portal, session

    def call(self, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments or {})

    def ok(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """The structured result of a call that must succeed (and its text, the same JSON)."""
        result = self.call(tool, arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert json.loads(result.content[0].text) == result.structured_content
        return result.structured_content

    def error(self, tool: str, arguments: dict[str, Any]) -> str:
        """The one-line message of a call that must fail as a tool error."""
        result = self.call(tool, arguments)
        assert result.is_error, result.structured_content
        text = "\n".join(block.text for block in result.content)
        assert "Traceback" not in text and "\n" not in text and "pydantic.dev" not in text, text
        return text


@asynccontextmanager
async def stdio_session(data: Path, log: TextIO) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "osler", "mcp"], env=cli_env(data)
    )
    async with stdio_client(params, errlog=log) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        yield s


@asynccontextmanager
async def http_session(url: str, token: str | None = TOKEN) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as s,
    ):
        await s.initialize()
        yield s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_url(served: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`osler mcp --http` on a free loopback port with a bearer token; its /mcp URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("mcp-http") / "server.log"
    env = {**cli_env(served[0]), "OSLER_MCP_TOKEN": TOKEN}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "osler", "mcp", "--http", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module", params=["stdio", "http"])
def client(
    request: pytest.FixtureRequest,
    served: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Client]:
    """A session with the server over each transport in turn."""
    log_path = tmp_path_factory.mktemp("mcp-stdio") / "server.log"
    with open(log_path, "w") as log, start_blocking_portal() as portal:
        if request.param == "stdio":
            session = stdio_session(served[0], log)
        else:
            session = http_session(request.getfixturevalue("http_url"))
        with portal.wrap_async_context_manager(session) as s:
            yield Client(portal, s)


# --- tools and their schemas ----------------------------------------------------------------


def test_every_tool_is_listed_with_typed_input_and_output_schemas(client: Client) -> None:
    tools = {t.name: t for t in client.portal.call(client.session.list_tools).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.input_schema["type"] == "object"
        out = tool.output_schema or {}
        assert {"review_status", "disclaimer", "data_notice"} <= set(out["properties"]), tool.name
    search = tools["search_evidence"].input_schema
    assert set(search["properties"]) == {"query", "k", "audience", "min_level", "since_year"}
    assert search["required"] == ["query"]
    assert search["properties"]["k"]["maximum"] == osler_mcp.MAX_K
    assert search["properties"]["audience"]["enum"] == list(READERS)
    levels = next(o for o in search["properties"]["min_level"]["anyOf"] if "enum" in o)["enum"]
    assert levels == [level.value for level in EvidenceLevel]
    assert set(tools["ask"].input_schema["properties"]) == {
        "question", "audience", "conversation_id"
    }
    assert {"bottom_line", "sections", "references", "status"} <= set(
        tools["ask"].output_schema["properties"]
    )
    assert tools["get_passage"].input_schema["required"] == ["passage_id"]
    assert tools["search_evidence"].annotations.read_only_hint is True
    assert tools["ask"].annotations.read_only_hint is False  # it records the conversation


def test_the_flagship_answer_comes_back_cited(client: Client, served: tuple[Path, str]) -> None:
    data = client.ok("ask", {"question": FLAGSHIP})
    assert data["review_status"] == "draft" and data["status"] == "pending_review"
    assert data["disclaimer"] == DISCLAIMER and data["data_notice"] == osler_mcp.DATA_NOTICE
    answer = Answer.model_validate(data)
    assert not answer.abstained, answer.abstain_reason
    assert answer.title == "Treatment of Liver Metastases from Gallbladder Cancer"
    first = answer.references[0]
    assert first.document_id == PDQ and first.evidence_level is EvidenceLevel.GUIDELINE
    assert "metastatic" in answer.bottom_line.text.lower()
    assert all(s.citations for s in statements(answer))
    store = open_store(served[0])
    try:
        assert_faithful(answer, store)
    finally:
        store.close()
    # a follow-up in the same conversation is read against the question before it
    assert data["conversation_id"]
    follow = client.ok(
        "ask",
        {"question": "What about its side effects?", "conversation_id": data["conversation_id"]},
    )
    assert follow["conversation_id"] == data["conversation_id"]
    assert "gallbladder" in follow["standalone_question"].lower()


def test_search_returns_verbatim_passages_with_source_and_level(
    client: Client, served: tuple[Path, str]
) -> None:
    data = client.ok("search_evidence", {"query": FLAGSHIP, "k": 5})
    assert data["review_status"] == "unreviewed" and data["disclaimer"] == DISCLAIMER
    passages = data["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3, 4, 5]
    assert passages[0]["document_id"] == PDQ and passages[0]["evidence_level"] == "1-guideline"
    store = open_store(served[0])
    try:
        for p in passages:
            assert p["source"] and p["evidence_label"] and p["passage_id"].startswith(p["document_id"])
            doc = store.get_document(p["document_id"])
            assert doc is not None and doc.text[p["start"] : p["end"]] == p["text"]
    finally:
        store.close()
    patient = client.ok("search_evidence", {"query": APPROVED, "k": 3, "audience": "patient"})
    assert patient["disclaimer"] != DISCLAIMER  # the plain-language one


@pytest.mark.parametrize(
    ("min_level", "since_year"), [("1-guideline", None), ("2-systematic-review", 2015), (None, 2020)]
)
def test_search_filters_by_evidence_level_and_year(
    client: Client, min_level: str | None, since_year: int | None
) -> None:
    args: dict[str, Any] = {"query": "treatment of metastatic cancer", "k": 10}
    args |= {"min_level": min_level} if min_level else {}
    args |= {"since_year": since_year} if since_year else {}
    passages = client.ok("search_evidence", args)["passages"]
    assert len(passages) == 10  # the net is widened, not the results cut
    for p in passages:
        if min_level:
            assert EvidenceLevel(p["evidence_level"]).rank <= EvidenceLevel(min_level).rank
        if since_year:
            assert p["year"] is not None and p["year"] >= since_year


def test_a_passage_comes_with_its_document_text_and_offsets(client: Client) -> None:
    hit = client.ok("search_evidence", {"query": FLAGSHIP, "k": 1})["passages"][0]
    data = client.ok("get_passage", {"passage_id": hit["passage_id"]})
    assert data["review_status"] == "unreviewed" and data["disclaimer"] == DISCLAIMER
    context, passage = data["context"], data["passage"]
    assert context["text"][context["highlight_start"] : context["highlight_end"]] == hit["text"]
    assert passage["text"] == hit["text"] and passage["start"] == hit["start"]
    assert context["offset"] + context["highlight_start"] == hit["start"]
    assert data["document"]["id"] == PDQ and data["document"]["evidence_level"] == "1-guideline"
    assert data["document"]["dataset"] == "nci_pdq"


def test_a_document_is_read_window_by_window(client: Client) -> None:
    first = client.ok("get_document", {"document_id": PDQ, "max_chars": 2000})
    assert first["document"]["title"].startswith("Gallbladder Cancer Treatment")
    assert first["offset"] == 0 and len(first["text"]) == 2000 and first["next_offset"] == 2000
    assert first["length"] > 2000 and first["passages"]
    assert all(0 <= p["start"] < 2000 for p in first["passages"])
    nxt = client.ok("get_document", {"document_id": PDQ, "offset": 2000, "max_chars": 2000})
    assert nxt["offset"] == 2000 and nxt["text"] and nxt["text"] != first["text"]
    last = client.ok("get_document", {"document_id": PDQ, "offset": first["length"] - 10})
    assert len(last["text"]) == 10 and last["next_offset"] is None


def test_list_sources_names_datasets_levels_and_years(
    client: Client, served: tuple[Path, str]
) -> None:
    data = client.ok("list_sources")
    store = open_store(served[0])
    try:
        stats = store.stats()
    finally:
        store.close()
    assert (data["documents"], data["passages"]) == (stats["documents"], stats["passages"])
    datasets = {d["name"]: d for d in data["datasets"]}
    assert set(datasets) == set(stats["by_dataset"])
    pdq = datasets["nci_pdq"]
    assert pdq["documents"] > 1000 and "1-guideline" in pdq["evidence_levels"]
    assert pdq["earliest_year"] and pdq["latest_year"] >= pdq["earliest_year"]
    levels = {entry["level"]: entry for entry in data["evidence_levels"]}
    assert levels["1-guideline"]["rank"] == 1 and levels["1-guideline"]["documents"] > 0
    assert data["approved_articles"] == 1 and data["review_status"] == "unreviewed"


# --- approved articles and the policy as resources -------------------------------------------


def test_approved_articles_are_resources_and_ask_serves_them(
    client: Client, served: tuple[Path, str]
) -> None:
    article_id = served[1]
    listed = client.portal.call(client.session.list_resources).resources
    uris = {str(r.uri) for r in listed}
    assert {f"osler://articles/{article_id}", "osler://policy"} <= uris
    templates = client.portal.call(client.session.list_resource_templates).resource_templates
    assert [t.uri_template for t in templates] == ["osler://articles/{article_id}"]
    read = client.portal.call(client.session.read_resource, f"osler://articles/{article_id}")
    article = json.loads(read.contents[0].text)
    assert article["status"] == "approved" and article["review_status"] == "approved"
    assert article["reviewed_by"] == ["rev, MD"] and article["references"]
    asked = client.ok("ask", {"question": APPROVED})
    assert asked["review_status"] == "approved" and asked["article_id"] == article_id
    policy = client.portal.call(client.session.read_resource, "osler://policy").contents[0]
    assert policy.mime_type == "text/markdown" and "# Editorial policy" in policy.text
    with pytest.raises(MCPError) as missing:
        client.portal.call(client.session.read_resource, "osler://articles/nosuch")
    assert missing.value.error.code == INVALID_PARAMS
    assert "no approved article 'nosuch'" in missing.value.error.message


def test_answers_asked_over_mcp_are_not_filed_as_drafts(
    client: Client, served: tuple[Path, str]
) -> None:
    client.ok("ask", {"question": "How is gallbladder cancer diagnosed?"})
    store = open_store(served[0])
    try:
        assert [a.id for a in review_store(store).articles()] == [served[1]]
    finally:
        store.close()


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search_evidence", {}, "query: Field required"),
        ("search_evidence", {"query": ""}, "query: String should have at least 1 character"),
        ("search_evidence", {"query": "   "}, "query: is empty"),
        ("search_evidence", {"query": "x", "k": 0}, "k: Input should be greater than or equal to 1"),
        ("search_evidence", {"query": "x", "k": "many"}, "k: Input should be a valid integer"),
        ("search_evidence", {"query": "x", "audience": "vet"}, "audience: Input should be"),
        ("search_evidence", {"query": "x", "min_level": "7-best"}, "min_level: Input should be"),
        ("search_evidence", {"query": "x", "since_year": 99}, "since_year: Input should be"),
        ("search_evidence", {"query": "x", "kk": 3}, "unknown kk (it takes audience, k,"),
        ("ask", {"question": "x" * 2001}, "question: String should have at most 2000"),
        ("ask", {"question": "a\x00b"}, "question: holds a NUL character"),
        ("ask", {"question": "x", "conversation_id": "../etc"}, "conversation_id: String should"),
        ("get_document", {"document_id": PDQ, "max_chars": 0}, "max_chars: Input should be"),
        ("get_document", {"document_id": PDQ, "offset": -1}, "offset: Input should be"),
        ("get_passage", {"passage_id": 7}, "passage_id: Input should be a valid string"),
    ],
)
def test_bad_arguments_are_tool_errors_naming_the_argument(
    client: Client, tool: str, arguments: dict[str, Any], message: str
) -> None:
    text = client.error(tool, arguments)
    assert text.startswith(f"Invalid arguments for {tool}: ") and message in text, text


def test_an_unknown_passage_or_document_is_a_not_found_error(client: Client) -> None:
    text = client.error("get_passage", {"passage_id": "pubmed:0#9"})
    assert text.endswith("Not found: no passage 'pubmed:0#9'"), text
    text = client.error("get_document", {"document_id": "pubmed:0"})
    assert text.endswith("Not found: no document 'pubmed:0'"), text
    assert "Unknown tool" in client.error("delete_everything", {})


# --- the HTTP transport's guard --------------------------------------------------------------


def test_http_wants_the_bearer_token(http_url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
        r = httpx.post(http_url, json=body, headers=headers | auth, timeout=30)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert r.json() == {"error": "missing or wrong bearer token"}


def test_http_binds_elsewhere_only_with_a_token(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "nothing")
    env.pop("OSLER_MCP_TOKEN", None)
    run = subprocess.run(
        [sys.executable, "-m", "osler", "mcp", "--http", "--host", "0.0.0.0"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2 and "OSLER_MCP_TOKEN" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    short = {**env, "OSLER_MCP_TOKEN": "short"}
    run = subprocess.run(
        [sys.executable, "-m", "osler", "mcp", "--http"],
        env=short, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2 and "too short" in run.stderr, run.stderr


def test_loopback_hosts() -> None:
    assert all(map(osler_mcp.is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]))
    assert not any(map(osler_mcp.is_loopback, ["0.0.0.0", "10.0.0.1", "example.org", "::"]))
    osler_mcp.check_listen("0.0.0.0", TOKEN)  # elsewhere with a token is allowed
    with pytest.raises(ValueError, match="OSLER_MCP_TOKEN"):
        osler_mcp.check_listen("10.0.0.1", "")


def test_the_server_does_not_start_on_an_empty_data_dir(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "osler", "mcp"],
        env=cli_env(tmp_path / "empty"), capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 1 and "Nothing is ingested" in run.stderr and not run.stdout


def test_the_latency_benchmark_runs(served: tuple[Path, str]) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        from mcp_latency import measure
    finally:
        sys.path.pop(0)
    figures = measure(served[0], calls=3)
    assert set(figures) == {"search_evidence", "ask"}
    for tool in figures.values():
        assert tool["calls"] == 3 and tool["errors"] == 0 and 0 < tool["p50_ms"] <= tool["p95_ms"]

