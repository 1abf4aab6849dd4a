"""The PostgreSQL store: psycopg 3 over a connection pool (`postgresql://user:pass@host/db`).

One `Database` per store URL holds the pool; the corpus store and the editorial store of a
deployment share it (as SQLite's share a connection), so a transaction of either covers writes
to both. How it keeps the protocol's promises:

- Transactions: `transaction()` takes a connection from the pool and pins it to the calling
  thread until the outermost one ends; every call of that thread inside it uses that connection.
  Transactions nest: an inner one (or a write method called inside one) is a savepoint.
- The change log is in commit order: `write` and `remove` only note their changes; at commit
  the transaction takes an advisory lock (held until it has committed) and numbers them after
  the largest `seq` there is. A reader can never see a change with a higher number before one
  with a lower number, and there are no gaps.
- Storage order: each document write takes the next value of the sequence `document_writes`
  (`written`, copied into its passages), so a written document moves to the end and its
  passages stay together, however many writers commit at once.
- Reading all passages pages by (written, ordinal, id), holding no connection between pages:
  what was committed before `corpus_version()` was read is seen; anything committed later
  carries a higher change number, so an index catching up from that version gets it again.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from osler.models import Document, Passage
from osler.store.base import DOCUMENT_COLUMNS, JSON_COLUMNS, WriteResult, content_hash, now
from osler.store.postgres_migrations import migrate, schema_version

SCHEMES = ("postgresql://", "postgres://")
#: Connections each store keeps open at least / at most.
POOL_MIN, POOL_MAX = 1, 10
#: Key of the advisory lock that orders change numbers by commit.
CHANGE_LOCK = 0x6F736C6572_02
#: Passages read per query by `iter_documents_passages`.
PAGE = 5000
#: The tables of one store, in an order their foreign keys allow filling them in, with the
#: identity columns whose sequence follows the copied rows.
TABLES: list[tuple[str, str | None]] = [
    ("meta", None),
    ("documents", None),
    ("passages", None),
    ("changes", None),
    ("conversations", None),
    ("users", "id"),
    ("api_tokens", None),
    ("sessions", None),
    ("articles", None),
    ("article_versions", None),
    ("approvals", "seq"),
    ("audit_log", "seq"),
]

_PASSAGE_COLUMNS = 'id, document_id, section, ordinal, text, start, "end", extra'


def is_postgres(url: str) -> bool:
    return url.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password (in the user part or as `?password=`), for people."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostinfo}" if user else hostinfo
    query = "&".join(
        kv for kv in parts.query.split("&") if kv and kv.split("=", 1)[0] != "password"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _maintenance(url: str) -> str:
    return make_conninfo(url, dbname="postgres")


def database_exists(url: str) -> bool:
    """Whether the database a URL names exists (asked of the server's `postgres` database)."""
    name = conninfo_to_dict(url).get("dbname") or conninfo_to_dict(url).get("user")
    with psycopg.connect(_maintenance(url), autocommit=True) as db:
        return db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def connect(url: str, *, create: bool) -> psycopg.Connection[Any]:
    """A connection (autocommit) to the database of `url`; with `create`, the database is made
    first if the server has none of that name (as SQLite makes its file)."""
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError:
        if not create:
            raise
        try:
            missing = not database_exists(url)
        except psycopg.Error:
            missing = False
        if not missing:
            raise
    name = conninfo_to_dict(url).get("dbname") or conninfo_to_dict(url).get("user")
    # another process may make it meanwhile
    with psycopg.connect(_maintenance(url), autocommit=True) as db, suppress(
        psycopg.errors.DuplicateDatabase
    ):
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
    return psycopg.connect(url, autocommit=True)


def stored(url: str) -> bool:
    """Whether an Osler store exists at `url` (never creating one)."""
    try:
        db = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError:
        try:
            if not database_exists(url):
                return False
        except psycopg.Error:
            pass
        raise
    with db:
        row = db.execute("SELECT to_regclass('_osler_migrations') IS NOT NULL").fetchone()
        return bool(row and row[0])


class Database:
    """One PostgreSQL database: its pool, and the transaction each thread holds open."""

    def __init__(self, url: str, *, pool_max: int = POOL_MAX) -> None:
        self.url = redacted(url)
        with connect(url, create=True) as db:
            migrate(db)
        self.pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=min(POOL_MIN, pool_max),
            max_size=pool_max,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=True,
            name=f"osler {self.url}",
        )
        self._local = threading.local()

    def close(self) -> None:
        self.pool.close()

    @property
    def _held(self) -> psycopg.Connection[dict[str, Any]] | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """The connection of this thread's open transaction, else one from the pool."""
        held = self._held
        if held is not None:
            yield held
            return
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A transaction (a savepoint inside this thread's open one)."""
        held = self._held
        if held is not None:
            pending: list[tuple[str, str]] = self._local.pending
            mark = len(pending)
            try:
                with held.transaction():
                    yield held
            except BaseException:
                del pending[mark:]
                raise
            return
        with self.pool.connection() as conn:
            self._local.conn, self._local.pending = conn, []
            try:
                with conn.transaction():
                    yield conn
                    if self._local.pending:
                        self._number_changes(conn, self._local.pending)
            finally:
                self._local.conn, self._local.pending = None, []

    @contextmanager
    def writing(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """This thread's open transaction as it is (no savepoint), else a new one."""
        held = self._held
        if held is not None:
            yield held
            return
        with self.transaction() as conn:
            yield conn

    def note_change(self, document_id: str, op: str) -> None:
        """A change to log when this thread's transaction commits (see the module docstring)."""
        self._local.pending.append((document_id, op))

    @staticmethod
    def _number_changes(conn: psycopg.Connection[Any], pending: list[tuple[str, str]]) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_LOCK])
        # a statement of its own: its snapshot is taken after the lock is granted, so it sees
        # the numbers every earlier holder committed
        conn.execute(
            "INSERT INTO changes (seq, document_id, op, at) "
            "SELECT last.seq + t.n, t.document_id, t.op, %s "
            "FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM changes) AS last, "
            "unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(document_id, op, n)",
            [now(), [d for d, _ in pending], [op for _, op in pending]],
        )


class PostgresStore:
    """Documents and passages in PostgreSQL; use `transaction()` around writes."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.url = self.db.url

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of writes (nesting: a savepoint inside an open one)."""
        return _no_value(self.db.transaction())

    # --- writes -------------------------------------------------------------------------

    def stored_hash(self, document_id: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT content_hash FROM documents WHERE id = %s", [document_id]
            ).fetchone()
        return row["content_hash"] if row else None

    def write(
        self,
        document: Document,
        passages: list[Passage],
        origin: str | None = None,
        digest: str | None = None,
    ) -> WriteResult:
        """Insert or update one document with its passages (call inside `transaction()`, which
        it joins as it is: a write that fails aborts that transaction, as a failed statement
        does in PostgreSQL)."""
        digest = digest or content_hash(document, passages)
        values = document.model_dump(mode="json")
        data = [json.dumps(values[c]) if c in JSON_COLUMNS else values[c] for c in DOCUMENT_COLUMNS]
        stamp = now()
        cols = [*DOCUMENT_COLUMNS, "content_hash", "origin", "ingested_at", "updated_at"]
        updates = ", ".join(f"{_col(c)} = EXCLUDED.{_col(c)}" for c in cols if c != "ingested_at")
        with self.db.writing() as conn:
            # one statement: insert, or update unless stored with the same digest (no row back)
            written = conn.execute(
                f"INSERT INTO documents ({', '.join(map(_col, cols))}) "
                f"VALUES ({', '.join(['%s'] * len(cols))}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}, written = nextval('document_writes') "
                "WHERE documents.content_hash IS DISTINCT FROM EXCLUDED.content_hash "
                "RETURNING written, (xmax = 0) AS inserted",
                [*data, digest, origin, stamp, stamp],
            ).fetchone()
            if written is None:
                return "unchanged"
            if not written["inserted"]:
                conn.execute("DELETE FROM passages WHERE document_id = %s", [document.id])
            if passages:
                conn.execute(
                    f"INSERT INTO passages (written, {_PASSAGE_COLUMNS}) SELECT %s, * FROM "
                    "unnest(%s::text[], %s::text[], %s::text[], %s::integer[], %s::text[], "
                    "%s::integer[], %s::integer[], %s::json[])",
                    [
                        written["written"],
                        [p.id for p in passages],
                        [p.document_id for p in passages],
                        [p.section for p in passages],
                        [p.ordinal for p in passages],
                        [p.text for p in passages],
                        [p.start for p in passages],
                        [p.end for p in passages],
                        [json.dumps(p.extra) if p.extra else "{}" for p in passages],
                    ],
                )
            self.db.note_change(document.id, "upsert")
        return "new" if written["inserted"] else "updated"

    def remove(self, *, ids: list[str] | None = None, source: str | None = None) -> list[str]:
        """Delete documents by id and/or by source name; return the ids removed."""
        if not ids and not source:
            return []
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM documents WHERE id = ANY(%s) OR source = %s FOR UPDATE",
                [ids or [], source],
            ).fetchall()
            targets = sorted({r["id"] for r in rows})
            if targets:
                conn.execute("DELETE FROM documents WHERE id = ANY(%s)", [targets])
            for doc_id in targets:
                self.db.note_change(doc_id, "delete")
        return targets

    # --- reads --------------------------------------------------------------------------

    def get_document(self, document_id: str) -> Document | None:
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {', '.join(map(_col, DOCUMENT_COLUMNS))} FROM documents WHERE id = %s",
                [document_id],
            ).fetchone()
        return _document(row) if row else None

    def get_passage(self, passage_id: str) -> Passage | None:
        with self.db.connection() as conn:
            row = conn.execute(
                f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE id = %s", [passage_id]
            ).fetchone()
        return _passage(row) if row else None

    def passages(self, document_id: str) -> list[Passage]:
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE document_id = %s "
                "ORDER BY ordinal, id",
                [document_id],
            ).fetchall()
        return [_passage(r) for r in rows]

    def iter_passages(self, batch: int = 5000) -> Iterator[Passage]:
        """Every passage in storage order, read in batches."""
        for rows in self._pages(f"SELECT p.written, {_p(_PASSAGE_COLUMNS)} FROM passages p",
                                batch):
            for r in rows:
                yield _passage(r)

    def iter_documents_passages(self) -> Iterator[tuple[str, list[Passage]]]:
        """(indexed title, passages) of every document, in storage order (the indexed title
        is empty for documents whose title is a placeholder: extra.untitled)."""
        query = (
            "SELECT CASE WHEN d.extra->>'untitled' IS NULL THEN d.title ELSE '' END AS title, "
            f"p.written, {_p(_PASSAGE_COLUMNS)} FROM passages p "
            "JOIN documents d ON d.id = p.document_id"
        )
        current: list[Passage] = []
        title = ""
        for rows in self._pages(query, PAGE):
            for row in rows:
                if current and row["document_id"] != current[0].document_id:
                    yield title, current
                    current = []
                title = row["title"]
                current.append(_passage(row))
        if current:
            yield title, current

    def _pages(self, query: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """Rows of `query` (over passages `p`) in storage order, `size` at a time."""
        after: tuple[Any, ...] | None = None
        size = max(1, size)
        while True:
            where = "WHERE (p.written, p.ordinal, p.id) > (%s, %s, %s) " if after else ""
            with self.db.connection() as conn:
                rows = conn.execute(
                    f"{query} {where}ORDER BY p.written, p.ordinal, p.id LIMIT %s",
                    [*(after or ()), size],
                ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1]
            after = (last["written"], last["ordinal"], last["id"])

    def get_passages(self, passage_ids: list[str]) -> dict[str, Passage]:
        """Passages by id (unknown ids are left out)."""
        out: dict[str, Passage] = {}
        if not passage_ids:
            return out
        with self.db.connection() as conn:
            for i in range(0, len(passage_ids), 10_000):
                rows = conn.execute(
                    f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE id = ANY(%s)",
                    [passage_ids[i : i + 10_000]],
                ).fetchall()
                for row in rows:
                    out[row["id"]] = _passage(row)
        return out

    def document_summaries(self) -> list[Document]:
        """Every document's metadata without its text (for ranking and reference lists)."""
        cols = [_col(c) for c in DOCUMENT_COLUMNS if c != "text"]
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(cols)}, '' AS text FROM documents").fetchall()
        return [_document(r) for r in rows]

    def get_conversation(self, conversation_id: str) -> list[dict[str, Any]] | None:
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT turns FROM conversations WHERE id = %s", [conversation_id]
            ).fetchone()
        return row["turns"] if row else None

    def save_conversation(self, conversation_id: str, turns: list[dict[str, Any]]) -> None:
        """Create or replace a conversation's turns."""
        stamp = now()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (id, turns, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET turns = EXCLUDED.turns, updated_at = EXCLUDED.updated_at",
                [conversation_id, json.dumps(turns), stamp, stamp],
            )

    def document_ids(self, source: str | None = None) -> list[str]:
        with self.db.connection() as conn:
            if source:
                rows = conn.execute("SELECT id FROM documents WHERE source = %s", [source])
            else:
                rows = conn.execute("SELECT id FROM documents")
            return [r["id"] for r in rows.fetchall()]

    def corpus_version(self) -> int:
        """Number of the last change; it grows with every write or removal."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) AS seq FROM changes").fetchone()
        return int(row["seq"]) if row else 0

    def changes_since(self, seq: int) -> list[tuple[int, str, str]]:
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT seq, document_id, op FROM changes WHERE seq > %s ORDER BY seq", [seq]
            ).fetchall()
        return [(int(r["seq"]), r["document_id"], r["op"]) for r in rows]

    def stats(self) -> dict[str, Any]:
        """Counts of documents and passages, overall and by dataset, source, type, level and
        audience (summed by the server)."""
        keys = ("dataset", "source", "source_type", "evidence_level", "audience")
        with self.db.connection() as conn:
            rows = conn.execute(
                "WITH per_doc AS (SELECT COALESCE(d.extra->>'dataset', '') AS dataset, "
                "d.source, d.source_type, d.evidence_level, d.audience, d.evidence_inferred, "
                "COALESCE(p.n, 0) AS n FROM documents d LEFT JOIN "
                "(SELECT document_id, COUNT(*) AS n FROM passages GROUP BY document_id) p "
                "ON p.document_id = d.id) "
                f"SELECT {', '.join(keys)}, "
                f"{', '.join(f'GROUPING({k}) AS g_{k}' for k in keys)}, "
                "COUNT(*) AS documents, COALESCE(SUM(n), 0) AS passages, "
                "COUNT(*) FILTER (WHERE evidence_inferred) AS inferred FROM per_doc "
                f"GROUP BY GROUPING SETS ({', '.join(f'({k})' for k in keys)}, ())"
            ).fetchall()
            version = schema_version(conn)
        out: dict[str, Any] = {"documents": 0, "passages": 0, "evidence_inferred": 0}
        groups: dict[str, Counter[str]] = {}
        passages: dict[str, Counter[str]] = {}
        for key in keys:
            groups[key], passages[key] = Counter(), Counter()
        for r in rows:
            if all(r[f"g_{k}"] for k in keys):
                out["documents"], out["passages"] = int(r["documents"]), int(r["passages"])
                out["evidence_inferred"] = int(r["inferred"])
                continue
            key = next(k for k in keys if not r[f"g_{k}"])
            groups[key][r[key]] += int(r["documents"])
            passages[key][r[key]] += int(r["passages"])
        out["schema_version"] = version
        out["corpus_version"] = self.corpus_version()
        out["path"] = self.url
        for key in keys:
            out[f"by_{key}"] = {
                k: {"documents": groups[key][k], "passages": passages[key][k]}
                for k in sorted(groups[key])
            }
        return out

    # --- copies -------------------------------------------------------------------------

    def copy_to(self, url: str) -> None:
        """A consistent copy of the whole store (corpus and editorial record) in the database
        `url` names (made if missing; it must hold no Osler data): every table is read in one
        REPEATABLE READ snapshot and written in one transaction."""
        if not is_postgres(url):
            raise ValueError(
                f"a PostgreSQL store copies to another PostgreSQL database, not {redacted(url)!r}"
            )
        target = Database(url, pool_max=1)
        try:
            with (
                self.db.pool.connection() as src,
                target.pool.connection() as dst,
                src.transaction(),
                dst.transaction(),
            ):
                src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                for table, _ in TABLES:
                    row = dst.execute(
                        sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS used").format(
                            sql.Identifier(table)
                        )
                    ).fetchone()
                    if row and row["used"]:
                        raise ValueError(f"{target.url} already holds an Osler store")
                for table, identity in TABLES:
                    columns = [
                        r["column_name"]
                        for r in src.execute(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = %s "
                            "ORDER BY ordinal_position",
                            [table],
                        ).fetchall()
                    ]
                    names = sql.SQL(", ").join(map(sql.Identifier, columns))
                    out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT BINARY)").format(
                        names, sql.Identifier(table)
                    )
                    into = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                        sql.Identifier(table), names
                    )
                    with src.cursor().copy(out) as reader, dst.cursor().copy(into) as writer:
                        for block in reader:
                            writer.write(block)
                    if identity:
                        dst.execute(
                            sql.SQL(
                                "SELECT setval(pg_get_serial_sequence({t}, {c}), "
                                "COALESCE((SELECT MAX({ci}) FROM {ti}), 0) + 1, false)"
                            ).format(
                                t=sql.Literal(table), c=sql.Literal(identity),
                                ci=sql.Identifier(identity), ti=sql.Identifier(table),
                            )
                        )
                dst.execute(
                    "SELECT setval('document_writes', "
                    "COALESCE((SELECT MAX(written) FROM documents), 0) + 1, false)"
                )
        finally:
            target.close()


@contextmanager
def _no_value(cm: AbstractContextManager[Any]) -> Iterator[None]:
    with cm:
        yield


def _col(name: str) -> str:
    return f'"{name}"' if name in {"end", "text", "year"} else name


def _p(columns: str) -> str:
    """Passage columns qualified by the alias p."""
    return ", ".join(f"p.{c.strip()}" for c in columns.split(","))


def _document(row: dict[str, Any]) -> Document:
    data = {c: row[c] for c in DOCUMENT_COLUMNS}
    for c in JSON_COLUMNS:
        if isinstance(data[c], str):  # a json column read back as text
            data[c] = json.loads(data[c])
    return Document.model_validate(data)


def _passage(row: dict[str, Any]) -> Passage:
    extra = row["extra"]
    return Passage(
        id=row["id"],
        document_id=row["document_id"],
        section=row["section"],
        ordinal=row["ordinal"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        extra=extra if isinstance(extra, dict) else json.loads(extra),
    )
