"""Hits in, Answer out: abstention, composition, titles, references. The composer never reads
the store: retrieval hands it the passages (and their context) it composes from."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from osler import citations
from osler.audience import profile_for
from osler.compose import extractive, figures, safety, templates
from osler.conversation import Turn, covers, suggest
from osler.glossary import Glossary
from osler.models import (
    Answer,
    AnswerSection,
    Audience,
    Document,
    Hit,
    Query,
    Reference,
    RejectedStatement,
    Statement,
)
from osler.retrieve.analyse import words
from osler.settings import LLMSettings
from osler.text import tokens

#: Hits taken from retrieval for composing an answer.
ANSWER_HITS = 30
SMALL_WORDS = frozenset("a an and as at by for from in of on or the to vs with".split())


def title_case(phrase: str) -> str:
    """Title case that keeps acronyms and lower-cases small words."""
    out = []
    for i, w in enumerate(phrase.split()):
        if w.isupper() or any(c.isupper() for c in w[1:]):
            out.append(w)
        elif i > 0 and w.lower() in SMALL_WORDS:
            out.append(w.lower())
        else:
            out.append(w[:1].upper() + w[1:])
    return " ".join(out)


_LEAD = re.compile(
    r"^((the|a|an)\s+)?(signs and symptoms|symptoms?|signs?|treatments?|therapy|therapies|"
    r"management|options?|causes?|outlook|prognosis|risk factors?|risk|prevention|diagnosis|"
    r"side effects?|dos(e|age|ing)|interactions?|genetic changes|stages?|complications?|"
    r"people are affected|at risk|diagnose|treat|prevent|manage|clinical trials?|"
    r"research(\s*\(or clinical trials\))?(\s+is)?(\s+being\s+(done|conducted))?)"
    r"(?![\w(])(\s+(related\s+)?(for|of|in|to|with|by|on|into)\b)?\s*",
    re.I,
)


def title_for(query: Query) -> str:
    """A reference-article title from the question, e.g. 'Treatment of Gallbladder Cancer'."""
    phrase = focus_phrase(query)
    if query.question_type == "yes_no" or query.yes_no or not phrase:
        return title_case(query.question.rstrip(" ?"))
    pattern = templates.TITLES.get(query.question_type, "{}")
    return pattern.format(title_case(phrase))


def _topic_span(phrase: str, query: Query) -> str:
    """The phrase from its first to its last word that names the topic or a qualifier the
    answer keeps ("are available for psoriasis" -> "psoriasis"); the phrase if none does."""
    kept = set(query.topic_terms) | (set(query.qualifiers) - set(query.droppable))
    if not query.topic_terms:
        return phrase
    fix = query.corrections
    parts = phrase.split()
    marks = [
        i
        for i, w in enumerate(parts)
        if any(fix.get(t, t) in kept for t in tokens(w))
    ]
    if not marks:
        return phrase
    span = parts[marks[0] : marks[-1] + 1]
    # the name the sources use: "DVT" -> "deep vein thrombosis", "afib" -> "atrial fibrillation"
    return " ".join(query.renamed.get(w.lower(), fix.get(w.lower(), w)) for w in span)


def focus_phrase(query: Query) -> str:
    """The topic as the reader wrote it: "liver metastases from gallbladder cancer"."""
    phrase = query.cleaned
    for _ in range(3):
        phrase = _LEAD.sub("", phrase).strip()
    phrase = re.sub(
        r"\s+(treated|diagnosed|inherited|prevented|managed|cured)$", "", phrase, flags=re.I
    )
    phrase = re.sub(
        r"\s+(can|should|do|could|would|may|must)\s+(i|you|we|he|she|they)\b.*$",
        "",
        phrase,
        flags=re.I,
    )
    if query.question_type == "definition" and len(phrase.split()) > 5 and query.focus:
        phrase = query.focus
    if query.question_type == "yes_no":
        return query.focus
    return _topic_span(phrase, query)


def narrowed(query: Query) -> Query | None:
    """The query about its topic alone, the ordinary-word qualifiers set aside (None when it
    has none): what is answered when the sources do not speak of "available" or "early"."""
    drop = set(query.droppable)
    if not drop or not query.topic_terms:
        return None
    keep = [t for t in query.focus_terms if not (set(tokens(t)) & drop)]
    return query.model_copy(
        update={
            "focus_terms": keep or query.topic_terms,
            "focus": " ".join(w for w in query.focus.split() if w.lower() not in drop),
            "qualifiers": [q for q in query.qualifiers if q not in drop],
            "droppable": [],
        }
    )


#: "Do you have information about X?" asks what X is; it is not a yes/no question.
_INFORMATION_REQUEST = re.compile(
    r"^\s*(do|does|can|could) (you|osler) (have|give|provide|share)( me)? (any |some )?"
    r"(information|info|details|facts|material)\b",
    re.I,
)


def reread(query: Query, question: str) -> Query:
    """The analysis of a question, with a request for information about a topic ("Do you have
    information about X?") read as asking what X is."""
    if query.question_type == "yes_no" and _INFORMATION_REQUEST.match(question):
        query = query.model_copy(update={"question_type": "definition", "yes_no": False})
    return query


def _stem(w: str) -> str:
    return w.lower()[:6]


def uncovered_focus(query: Query, hits: list[Hit], keys: list[str] | None = None) -> list[str]:
    """Focus words the top hits do not mention, when too many are missing to answer; else []."""
    specific = extractive.specific_focus(query)
    seen: set[str] = set().union(*(extractive.token_set(f"{h.title} {h.text}") for h in hits[:10]))
    if extractive.focus_covered(specific, seen, keys):
        return []
    prefixes = {_stem(w) for w in seen}
    return [t for t in specific if _stem(t) not in prefixes] or specific


def _together(query: Query, hits: list[Hit], keys: list[str] | None = None) -> bool:
    """Some single hit mentions (nearly) every specific focus word of the question."""
    specific = extractive.specific_focus(query)
    return bool(specific) and any(
        extractive.focus_covered(specific, extractive.token_set(f"{h.title} {h.text}"), keys)
        for h in hits[:10]
    )


#: What the composer reads besides the hits, supplied by retrieval (the composer never opens
#: the store): the hits with their context passages, and a document's section headings.
Expand = Callable[[list[Hit], Query], list[Hit]]
Sections = Callable[[str], list[str]]


def topic_names(doc: Document) -> set[str]:
    """The topic names a consumer or drug page gives (its title and focus, as words)."""
    if doc.audience is not Audience.CONSUMER and doc.source_type != "drug-information":
        return set()
    return {" ".join(words(name.lower())) for name in (doc.title, doc.extra.get("focus", "")) if name}


class Composer:
    """Composes answers from retrieved passages; holds what it learns from the document
    metadata (topic names, title word counts) and, built on first use, the glossary."""

    def __init__(
        self,
        documents: Mapping[str, Document],
        *,
        glossary: Callable[[], Glossary],
        llm: LLMSettings | None = None,
        guideline_max_age: int = 5,
    ) -> None:
        self.documents = documents
        self.llm = llm or LLMSettings()
        self.guideline_max_age = guideline_max_age
        #: Names of the consumer and drug pages: a question naming one is medical.
        #: In how many of those pages each name stands (a hidden page's own names go with it).
        self._name_counts: Counter[str] = Counter(
            t for d in documents.values() for t in topic_names(d)
        )
        self.topics: set[str] = set(self._name_counts)
        #: In how many document titles each word occurs: the rarest focus word is a key word.
        self.title_words: Counter[str] = Counter(
            w for d in documents.values() for w in extractive.token_set(d.title or "")
        )
        self._build_glossary = glossary
        self._glossary: Glossary | None = None
        self._building = threading.Lock()
        self._checker: Any = None

    @property
    def checker(self) -> Any:
        """The LLM statements' checker (paraphrase.Checker) over the corpus's names; built on
        first use, once, so the extractive default never loads its models."""
        if self._checker is None:
            from osler.compose.entities import Names
            from osler.compose.paraphrase import Checker

            names = Names.from_documents(self.documents)
            self._checker = Checker(names, min_similarity=self.llm.min_similarity)
        self._checker.min_similarity = self.llm.min_similarity
        return self._checker

    @property
    def glossary(self) -> Glossary:
        """Medical terms defined by the corpus's consumer pages; built on first use, once (the
        build takes seconds: requests arriving meanwhile wait for it rather than build it too)."""
        if self._glossary is None:
            with self._building:
                if self._glossary is None:
                    self._glossary = self._build_glossary()
        return self._glossary

    @contextmanager
    def hiding(self, ids: Iterable[str]) -> Iterator[None]:
        """Topic names that only these documents give are set aside for a while."""
        held = Counter(
            t for i in set(ids) if i in self.documents for t in topic_names(self.documents[i])
        )
        dropped = {t for t, n in held.items() if self._name_counts[t] == n} & self.topics
        self.topics -= dropped
        try:
            yield
        finally:
            self.topics |= dropped

    def turn(self, question: str, standalone: str, query: Query, previous: list[Turn]) -> Turn:
        """What a conversation remembers of this question."""
        return Turn(
            question=question,
            standalone=standalone,
            focus=focus_phrase(query) or (previous[-1].focus if previous else ""),
            question_type=query.question_type,
        )

    def _aliases(self, hits: list[Hit]) -> dict[str, frozenset[str]]:
        """The other names of the hits' pages (their focus synonyms), as tokens."""
        out: dict[str, frozenset[str]] = {}
        for hit in hits:
            doc = self.documents.get(hit.document_id)
            names = doc.extra.get("focus_synonyms", "") if doc else ""
            if names and hit.document_id not in out:
                out[hit.document_id] = extractive.token_set(names.replace(";", " "))
        return out

    def _keys(self, query: Query) -> list[str]:
        """The focus words every sentence must hold (see extractive.key_terms)."""
        # A yes/no question's focus is a claim, not a name: its rarest word is no key word.
        rarity = None if query.question_type == "yes_no" else self.title_words
        named = {t for term in query.topic_terms for t in tokens(term)}
        keys = extractive.key_terms(extractive.specific_focus(query), rarity, named)
        return keys + [w for w in query.unknown if w not in keys]

    def follow_ups(self, query: Query, hits: list[Hit], sections: Sections) -> list[str]:
        """Questions about other facets of the sources that are about this focus."""
        focus = focus_phrase(query)
        docs = list(dict.fromkeys(h.document_id for h in hits if covers(h.title, focus)))[:2]
        return suggest(focus, query.question_type, [s for d in docs for s in sections(d)])

    def answer(
        self,
        question: str,
        standalone: str,
        query: Query,
        hits: list[Hit],
        *,
        expand: Expand,
        sections: Sections,
        audience: str = "clinician",
        corpus_version: int = 0,
        llm: bool = False,
        timings: dict[str, float] | None = None,
        began: float | None = None,
    ) -> Answer:
        """Answer one question for an audience (clinician, student, patient) from its hits.

        `llm` has the configured LLM write the answer, every statement checked against its
        quote and every quote against its passage; on any failure the extractive composer
        answers and `composer_note` says why. The model's statements that failed a check are
        listed in `Answer.rejected` either way.
        """
        began = time.perf_counter() if began is None else began
        timings = dict(timings or {})
        profile = profile_for(audience)
        answer = Answer(
            question=question,
            standalone_question=standalone,
            audience=audience,
            question_type=query.question_type,
            title=title_for(query),
            bottom_line=Statement(text=""),
            disclaimer=profile.disclaimer,
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            corpus_version=corpus_version,
        )
        if safety.is_emergency(question):
            answer.notice = safety.EMERGENCY_NOTICE
        keys = self._keys(query)
        named = bool(query.topic_terms)  # the question names a topic of the corpus
        if not (named or safety.looks_medical(standalone, self.topics)) and not _together(
            query, hits, keys
        ):
            return self._abstain(answer, safety.NON_MEDICAL_REASON, [], timings, began)
        if not hits:
            reason = "No indexed source matches this question."
            return self._abstain(answer, reason, [], timings, began)
        missing = uncovered_focus(query, hits, keys)
        narrow = narrowed(query) if missing else None
        if narrow is not None:  # qualifiers the sources do not use never force an abstention
            query, keys = narrow, self._keys(narrow)
            missing = uncovered_focus(query, hits, keys)
        if missing:
            reason = (
                "Insufficient evidence: the indexed sources do not cover "
                + ", ".join(repr(m) for m in missing)
                + ". The closest sources are listed; no answer is composed from unrelated text."
            )
            return self._abstain(answer, reason, hits[:3], timings, began)
        hits = expand(hits, query)
        mark = time.perf_counter()
        draft = None
        if llm:
            draft, answer.composer_note, answer.rejected = _llm_draft(
                query, hits, audience, self.llm, lambda: self.checker
            )
            timings["llm"] = _ms(mark)
            answer.composer = "llm" if draft is not None else "extractive"
        if draft is None:
            aliases = self._aliases(hits)
            urgent = answer.notice is not None
            draft = extractive.compose(
                query, hits, audience, urgent=urgent, keys=keys, aliases=aliases
            )
            narrow = narrowed(query) if draft is None else None
            if narrow is not None:
                query, keys = narrow, self._keys(narrow)
                draft = extractive.compose(
                    query, hits, audience, urgent=urgent, keys=keys, aliases=aliases
                )
        answer.title = title_for(query)
        timings["compose"] = _ms(mark)
        if draft is None:
            reason = (
                "Insufficient evidence: no sentence in the retrieved sources answers the question."
            )
            return self._abstain(answer, reason, hits[:3], timings, began)
        answer.bottom_line = draft.bottom_line
        answer.sections = draft.sections
        if profile.glossary:  # definitions cite passages too: they join draft.cited
            said = [draft.bottom_line, *[s for section in draft.sections for s in section.items]]
            answer.glossary = self.glossary.define(said, draft.cited, focus=query.focus)
        answer.questions_to_ask = profile.questions_for(templates.template_name(query.question_type))
        answer.references = [self.reference(n, h) for n, h in enumerate(draft.cited, 1)]
        answer.evidence_summary = dict(Counter(r.evidence_level.value for r in answer.references))
        answer.evidence_table = figures.evidence_rows(answer.sections, answer.references)
        answer.follow_ups = self.follow_ups(query, hits, sections)
        answer.timings_ms = {**timings, "total": _ms(began)}
        return answer

    def reference(self, n: int, hit: Hit) -> Reference:
        """Reference n: the hit's passage with its document's date, grade and age."""
        doc = self.documents.get(hit.document_id)
        notes = hit.passage_extra
        return Reference(
            n=n,
            document_id=hit.document_id,
            passage_id=hit.passage_id,
            title=hit.title,
            section=hit.section or None,
            source=hit.source,
            year=hit.year,
            evidence_level=hit.evidence_level,
            url=hit.url,
            quote=hit.text,
            start=hit.start,
            end=hit.end,
            date=doc.pub_date if doc else None,
            page=notes.get("page"),
            grade=citations.grade(doc, notes) if doc else None,
            supported_by=citations.supported_by(doc, notes) if doc else [],
            age_note=citations.age_note(doc, max_age=self.guideline_max_age) if doc else None,
        )

    def _abstain(
        self,
        answer: Answer,
        reason: str,
        closest: list[Hit],
        timings: dict[str, float],
        began: float,
    ) -> Answer:
        answer.abstained = True
        answer.abstain_reason = reason
        answer.bottom_line = Statement(text=reason)
        answer.references = [self.reference(n, h) for n, h in enumerate(closest, 1)]
        if closest:
            answer.sections = [
                AnswerSection(
                    heading="Closest sources",
                    kind="closest",
                    items=[
                        Statement(text=h.title, citations=[n]) for n, h in enumerate(closest, 1)
                    ],
                )
            ]
        answer.timings_ms = {**timings, "total": _ms(began)}
        return answer


NO_LLM_NOTE = "no LLM configured (set OSLER_LLM_BASE_URL)"


def _llm_draft(
    query: Query,
    hits: list[Hit],
    reader: str,
    settings: LLMSettings,
    checker: Callable[[], Any],
) -> tuple[extractive.Draft | None, str | None, list[RejectedStatement]]:
    """The LLM's checked draft, a note and the rejected statements; or (None, why the
    extractive composer answers, what the model wrote that failed)."""
    from osler.compose import llm  # loads the openai client only when asked for

    if not settings.configured:
        return None, NO_LLM_NOTE, []
    try:
        draft = llm.compose_llm(query, hits, reader, settings, checker=checker())
    except llm.LLMError as e:
        return None, f"LLM answer not used ({e}{_counts(e.rejected)}); answered extractively", (
            e.rejected
        )
    except ImportError as e:  # the llm extra is not installed
        return None, f"LLM answer not used ({e}; pip install 'osler[llm]'); answered extractively", []
    if not isinstance(draft, llm.LLMDraft):
        return None, "LLM answer not used (no passages); answered extractively", []
    total = draft.kept + draft.dropped
    note = f"{draft.kept} of {total} LLM statement(s) passed the checks"
    if reader == "patient":
        note += f" ({draft.plain} plain-language rewrite(s))"
    if draft.dropped:
        note += f"; {draft.dropped} rejected{_counts(draft.rejected)}"
    return draft, note, draft.rejected


def _counts(rejected: list[RejectedStatement]) -> str:
    """": rejected by quote 2, entities 1" (empty when nothing was rejected)."""
    counts = Counter(r.check for r in rejected)
    if not counts:
        return ""
    return ": by " + ", ".join(f"{check} {n}" for check, n in counts.most_common())


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
