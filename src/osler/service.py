"""The Osler service: one object that owns the stores, the indexes, the searcher and the
composer of a deployment, and offers its use cases. The CLI, the web app, the evaluation (and
any new entry point) call this; none of them reaches into its parts.

    with Osler.open() as osler:          # settings from the environment / osler.toml
        answer = osler.ask("What is the treatment for gallbladder cancer?")

One Osler may serve many threads at once (the web app's requests): the store gives each thread
its own connection and transactions, the searcher and composer only read what they hold (their
lazily built topics and glossary are built once, under their own locks; the dense encoder has
its own). What needs more is a read followed by a write that depends on it, in `ask`: filing a
draft (an open article may ask the question already) and adding a turn to a conversation. Those
two steps run under `_writes`, a lock held for a few milliseconds, never while answering.
At most ANSWERS_AT_ONCE answers are composed at the same time (for speed, not safety).
(`hiding`, for the benchmarks, changes what the searcher and composer see: one thread only.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from osler.audience import profile_for
from osler.compose.answer import ANSWER_HITS, Composer, reread
from osler.conversation import Turn, resolve
from osler.glossary import Glossary
from osler.index import dense as dense_index
from osler.index.lexical import LexicalIndex, SyncReport
from osler.models import Answer, Article, Document, Hit, Passage, Query, User
from osler.retrieve import context
from osler.retrieve.search import DocumentFilter, NothingIngested, Searcher
from osler.review import articles, staleness
from osler.settings import Settings, load
from osler.store import ReviewStore, Store, open_stores
from osler.version import __version__

#: Turns a conversation remembers.
MAX_TURNS = 20
#: Characters of document text shown on each side of a cited passage.
CONTEXT_CHARS = 1500
#: Answers composed at once (the others wait for a turn). Composing is Python work and one
#: thread at a time runs Python (the GIL): a second answer overlaps the first's time in SQLite
#: and the indexes, which release it; more only queue for the GIL and slow every request of the
#: process. Measured with 20 clients asking on 2 cores: /healthz and the sign-in page answer in
#: ~25 ms with 2, ~100-200 ms with no limit, ~700 ms behind the old lock around every request.
ANSWERS_AT_ONCE = 2

#: (done, total) as an index is built.
Progress = Callable[[int, int], None]


class Osler:
    """Everything one data directory (or store URL) serves, opened once."""

    def __init__(
        self, settings: Settings, store: Store, reviews: ReviewStore, searcher: Searcher
    ) -> None:
        self.settings = settings
        self.store = store
        #: The editorial record (users, articles, versions, audit): the ReviewStore protocol.
        self.reviews = reviews
        self.searcher = searcher
        #: The passages of recently expanded documents (emptied when the store changes).
        self.context = context.DocumentCache(store)
        self.composer = Composer(
            searcher.documents,
            glossary=lambda: Glossary.build(store, searcher.documents),
            llm=settings.llm,
            guideline_max_age=settings.guideline_max_age_years,
        )
        #: Serialises the read-then-write steps of `ask` (see the module docstring).
        self._writes = threading.Lock()
        self._answering = threading.BoundedSemaphore(ANSWERS_AT_ONCE)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        data_dir: Path | str | None = None,
        dense: bool = True,
    ) -> Osler:
        """Open the stores and indexes the settings name (default: `settings.load()`), the
        lexical index caught up with the store; `data_dir` overrides the settings' one."""
        settings = (settings or load()).with_data_dir(data_dir)
        store, reviews = open_stores(settings)
        lexical = LexicalIndex.at(settings.data_dir)
        if lexical.seq != store.corpus_version() or not lexical.ready:
            lexical.sync(store)
        vectors = (
            dense_index.open_if_built(settings.data_dir, store, settings.dense) if dense else None
        )
        return cls(settings, store, reviews, Searcher(store, lexical, vectors, settings.ranking))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Osler:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- the corpus -----------------------------------------------------------------------

    @property
    def documents(self) -> Mapping[str, Document]:
        """Every document's metadata (no text), read-only."""
        return self.searcher.documents

    @property
    def empty(self) -> bool:
        return not self.searcher.documents

    @property
    def dense(self) -> bool:
        """Whether a dense index is in use."""
        return self.searcher.dense is not None

    @contextmanager
    def hiding(self, ids: Iterable[str]) -> Iterator[None]:
        """Answer as if these documents were never ingested (nothing is removed): what the
        benchmarks use to ask questions whose sources are gone."""
        with self.searcher.hiding(ids), self.composer.hiding(ids):
            yield

    def require_documents(self) -> None:
        """NothingIngested (naming the store) when there is nothing to answer from."""
        if self.empty:
            raise NothingIngested(self.store.url)

    def document(self, document_id: str) -> tuple[Document, list[Passage]] | None:
        """A document with its passages, or None."""
        doc = self.store.get_document(document_id)
        return (doc, self.store.passages(document_id)) if doc else None

    def passage(self, passage_id: str) -> Passage | None:
        return self.store.get_passage(passage_id)

    def passage_context(self, passage_id: str, chars: int = CONTEXT_CHARS) -> dict[str, Any] | None:
        """A passage with the document text around it (whole lines) and the offsets to
        highlight it; None when there is no such passage."""
        passage = self.store.get_passage(passage_id)
        doc = self.store.get_document(passage.document_id) if passage else None
        if passage is None or doc is None:
            return None
        lo = max(0, passage.start - chars)
        lo = doc.text.find("\n", lo, passage.start) + 1 if lo else 0  # start on a whole line
        hi = min(len(doc.text), passage.end + chars)
        cut = doc.text.rfind("\n", passage.end, hi)
        hi = cut if hi < len(doc.text) and cut > 0 else hi
        return {
            "passage": passage.model_dump(),
            "document": {
                "id": doc.id,
                "title": doc.title,
                "source": doc.source,
                "year": doc.year,
                "url": doc.url,
                "evidence_level": doc.evidence_level.value,
                "evidence_label": doc.evidence_level.label,
                "audience": doc.audience.value,
            },
            "context": {
                "text": doc.text[lo:hi],
                "offset": lo,
                "highlight_start": passage.start - lo,
                "highlight_end": passage.end - lo,
            },
        }

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    def health(self) -> dict[str, Any]:
        """Store and index status (the /healthz body)."""
        lexical = self.searcher.lexical
        return {
            "status": "ok",
            "version": __version__,
            "documents": len(self.documents),
            "corpus_version": self.store.corpus_version(),
            "lexical_index": {"ready": lexical.ready, "seq": lexical.seq},
            "dense_index": self.dense,
        }

    # --- questions ------------------------------------------------------------------------

    def analyse(self, question: str) -> Query:
        """How Osler reads a question (type, focus, topic, corrections)."""
        return reread(self.searcher.analyse(question), question)

    def search(
        self,
        question: str,
        *,
        k: int = 10,
        audience: str = "clinician",
        datasets: set[str] | None = None,
        where: DocumentFilter | None = None,
        use_dense: bool = True,
    ) -> list[Hit]:
        """Ranked passages for a question; `where` keeps those of the documents it holds for
        (e.g. `lambda d: d.evidence_level.rank <= 3`)."""
        return self.searcher.search(
            question, k=k, audience=audience, datasets=datasets, where=where, use_dense=use_dense
        )

    def standalone(self, question: str, previous: list[Turn]) -> str:
        """A follow-up resolved against the conversation so far ("What about its side
        effects?" -> about the last topic); a standalone question as it is."""
        return resolve(" ".join(question.split()), previous, self.composer.topics)

    def turn(self, question: str, previous: list[Turn] | None = None) -> Turn:
        """What a conversation remembers of a question asked after `previous`."""
        previous = previous or []
        standalone = self.standalone(question, previous)
        return self.composer.turn(question, standalone, self.analyse(standalone), previous)

    def ask(
        self,
        question: str,
        audience: str = "clinician",
        conversation: str | None = None,
        *,
        serve_approved: bool = True,
        save_draft: bool | None = None,
        llm: bool = False,
        k: int = ANSWER_HITS,
    ) -> Answer:
        """Answer a question for an audience; with a conversation id, as a follow-up in it
        (resolved into a standalone question, and the turn recorded).

        `serve_approved`: an approved article that answers the question is served instead of a
        new answer. `save_draft` (default: settings.editorial.save_drafts): a new answer is
        saved as a draft article for the board. The question is analysed once.
        """
        with nullcontext() if llm else self._answering:  # an LLM answer waits on the network
            return self._ask(
                question, audience, conversation, serve_approved=serve_approved,
                save_draft=save_draft, llm=llm, k=k,
            )

    def _ask(
        self,
        question: str,
        audience: str,
        conversation: str | None,
        *,
        serve_approved: bool,
        save_draft: bool | None,
        llm: bool,
        k: int,
    ) -> Answer:
        began = time.perf_counter()
        profile_for(audience)  # UnknownAudience for a name without a profile
        self.require_documents()
        self.context.refresh()
        question = " ".join(question.split())
        stored = self.store.get_conversation(conversation) if conversation else None
        previous = [Turn.model_validate(t) for t in stored or []]
        standalone = resolve(question, previous, self.composer.topics)
        plain = self.searcher.analyse(standalone)  # the question is analysed once
        query = reread(plain, standalone)
        editorial = self.settings.editorial
        approved = (
            articles.served(self.reviews, standalone, audience, editorial, self.store)
            if serve_approved
            else None
        )
        mark = time.perf_counter()
        hits = self.searcher.search(plain, k=k, audience=audience)
        timings = {"retrieve": round((time.perf_counter() - mark) * 1000, 1)}
        if approved is not None:
            answer = approved.model_copy(
                update={
                    "question": question,
                    "standalone_question": standalone,
                    "follow_ups": self.composer.follow_ups(query, hits, self._sections),
                }
            )
        else:
            answer = self.composer.answer(
                question,
                standalone,
                query,
                hits,
                expand=self._expand,
                sections=self._sections,
                audience=audience,
                corpus_version=self.store.corpus_version(),
                llm=llm,
                timings=timings,
                began=began,
            )
            drafts = editorial.save_drafts if save_draft is None else save_draft
            if drafts:
                with self._writes:  # no second draft for a question being filed meanwhile
                    answer = articles.filed(self.reviews, answer)
        if conversation:
            turn = self.composer.turn(question, standalone, query, previous)
            with self._writes:  # read again: a turn may have been added meanwhile
                stored = self.store.get_conversation(conversation)
                turns = [*(stored or []), turn.model_dump()][-MAX_TURNS:]
                self.store.save_conversation(conversation, turns)
            answer.conversation_id = conversation
        return answer

    def _expand(self, hits: list[Hit], query: Query) -> list[Hit]:
        return context.with_list_continuations(
            self.context, context.with_section_neighbours(self.context, hits, query)
        )

    def _sections(self, document_id: str) -> list[str]:
        return [p.section for p in self.context.passages(document_id)]

    # --- the editorial workflow -------------------------------------------------------------

    def fresh_answer(self, question: str, audience: str = "clinician") -> Answer:
        """A newly composed answer, neither served from nor saved as an article (what an
        article is created or regenerated from)."""
        return self.ask(question, audience, serve_approved=False, save_draft=False)

    def create_article(
        self, question: str, audience: str, author: User | None, comment: str = ""
    ) -> Article:
        """A new article (Submitted) from a newly composed answer."""
        return articles.create(self.reviews, self.fresh_answer(question, audience), author, comment)

    def edit_article(
        self,
        article_id: str,
        answer: Answer,
        user: User,
        revision: int,
        comment: str = "",
        *,
        composed: bool = False,
    ) -> Article:
        """A new version of an article: an edited answer (its references checked against the
        store), or with `composed` one Osler composed again (`fresh_answer`)."""
        return articles.edit(
            self.reviews, article_id, answer, user, revision, comment, self.store,
            composed=composed,
        )

    def approved_answer(self, article: Article) -> Answer | None:
        """The approved version of an article as served (checked again against the store)."""
        return articles.approved_answer(self.reviews, article, self.store)

    def check_articles(self) -> list[tuple[str, str]]:
        """Flag approved articles whose sources changed or whose answer would now differ
        (after new evidence); returns (article id, reason) of each flagged."""
        return staleness.check(self.reviews, self.store, self.fresh_answer)

    # --- indexes ----------------------------------------------------------------------------

    def sync_indexes(
        self,
        *,
        rebuild: bool = False,
        lexical_progress: Progress | None = None,
        dense_progress: Progress | None = None,
        say: Callable[[str], None] = print,
        quiet: bool = False,
    ) -> SyncReport:
        """Bring the lexical index (and the dense one, when enabled) up to the store."""
        return sync_indexes(
            self.store,
            self.settings,
            rebuild=rebuild,
            lexical_progress=lexical_progress,
            dense_progress=dense_progress,
            say=say,
            quiet=quiet,
        )


def sync_indexes(
    store: Store,
    settings: Settings,
    *,
    rebuild: bool = False,
    lexical_progress: Progress | None = None,
    dense_progress: Progress | None = None,
    say: Callable[[str], None] = print,
    quiet: bool = False,
) -> SyncReport:
    """Bring a store's search indexes up to it (lexical always; dense when enabled)."""
    report = LexicalIndex.at(settings.data_dir).sync(store, lexical_progress, rebuild)
    if not quiet:
        what = "rebuilt" if report.rebuilt else "updated"
        say(
            f"Lexical index {what}: {report.documents:,} documents, {report.passages:,} passages "
            f"(corpus version {report.seq})."
        )
    dense_index.sync_if_enabled(
        store,
        settings.data_dir,
        settings.dense,
        say=say,
        progress=dense_progress,
        quiet=quiet,
        rebuild=rebuild,
    )
    return report
