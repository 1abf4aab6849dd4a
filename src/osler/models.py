"""The shared vocabulary of Osler: documents, passages and what ingest reports."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class EvidenceLevel(StrEnum):
    """Evidence levels, highest first; `patient-education` stands apart for consumer pages."""

    GUIDELINE = "1-guideline"
    SYSTEMATIC_REVIEW = "2-systematic-review"
    RCT = "3-rct"
    OBSERVATIONAL = "4-observational"
    CASE_REPORT = "5-case-report"
    EXPERT_OPINION = "6-expert-opinion"
    NOT_GRADED = "not-graded"
    PATIENT_EDUCATION = "patient-education"

    @property
    def rank(self) -> int:
        """1 (strongest) to 6; not graded ranks with opinion (6); patient education ranks 7."""
        if self is EvidenceLevel.PATIENT_EDUCATION:
            return 7
        return 6 if self is EvidenceLevel.NOT_GRADED else int(self.value[0])

    @property
    def label(self) -> str:
        return EVIDENCE_LABELS[self]


EVIDENCE_LABELS: dict[EvidenceLevel, str] = {
    EvidenceLevel.GUIDELINE: "Guideline / consensus statement",
    EvidenceLevel.SYSTEMATIC_REVIEW: "Systematic review / meta-analysis",
    EvidenceLevel.RCT: "Randomized controlled trial",
    EvidenceLevel.OBSERVATIONAL: "Observational study",
    EvidenceLevel.CASE_REPORT: "Case report / case series",
    EvidenceLevel.EXPERT_OPINION: "Narrative review / expert opinion",
    EvidenceLevel.NOT_GRADED: "Not graded (study design not stated)",
    EvidenceLevel.PATIENT_EDUCATION: "Patient education",
}


class Audience(StrEnum):
    """Who a document was written for."""

    PROFESSIONAL = "professional"
    CONSUMER = "consumer"


class Section(BaseModel):
    """A headed piece of a source document, as a parser found it."""

    heading: str = ""
    text: str
    atomic: bool = Field(
        default=False, description="Each line is exactly one passage (e.g. BioASQ gold snippets)"
    )


class Document(BaseModel):
    """One source document (an article, a consumer health page, a local guideline)."""

    id: str
    title: str
    source: str = Field(description='Source name, e.g. "PubMed", "cancer.gov PDQ", "MedlinePlus"')
    source_type: str = Field(
        description="What kind of source: journal-article, consumer-health, dataset-snippets, "
        "local-document, drug-information"
    )
    url: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    authors: list[str] = Field(default_factory=list)
    journal: str | None = None
    pub_date: str | None = Field(
        default=None, description="ISO date or partial date (YYYY[-MM[-DD]])"
    )
    year: int | None = None
    publication_types: list[str] = Field(default_factory=list)
    mesh_terms: list[str] = Field(default_factory=list)
    audience: Audience = Audience.PROFESSIONAL
    evidence_level: EvidenceLevel = EvidenceLevel.NOT_GRADED
    evidence_inferred: bool = Field(
        default=False, description="True when the level was inferred from text cues, not metadata"
    )
    evidence_reason: str = ""
    text: str = Field(default="", description="Full stored text; passages point into it")
    extra: dict[str, str] = Field(default_factory=dict)

    @property
    def indexed_title(self) -> str:
        """The title as search sees it: empty when the title is only a placeholder."""
        return "" if self.extra.get("untitled") else self.title


class Passage(BaseModel):
    """A retrievable span of a document: 1-4 sentences within one section."""

    id: str
    document_id: str
    section: str
    ordinal: int
    text: str
    start: int
    end: int
    extra: dict[str, str] = Field(
        default_factory=dict,
        description="What the source says of this span: 'cites' (reference keys, comma-separated), "
        "'loe' (the source's level of evidence, e.g. PDQ 'A1'), 'page' (PDF page, '14' or '14-15')",
    )


class ParsedDocument(BaseModel):
    """What a format parser hands to the pipeline: metadata plus headed sections."""

    document: Document
    sections: list[Section]


class Skipped(BaseModel):
    """A file or record that could not be ingested, and why."""

    path: str
    record: str | None = None
    reason: str


class IngestSummary(BaseModel):
    """The final report of one ingest run."""

    documents: int = 0
    passages: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = Field(default_factory=list)
    seconds: float = 0.0


class Query(BaseModel):
    """A question as retrieval sees it: type, focus, the terms to search, expansions."""

    question: str
    cleaned: str = Field(description="The question without boilerplate ('what is the ...')")
    question_type: str
    yes_no: bool = False
    defaulted: bool = Field(
        False,
        description="No cue named the type: a definition by default (\"adjuvant chemo for "
        "stage III colon cancer\", \"afib\")",
    )
    focus: str = ""
    terms: list[str] = Field(default_factory=list)
    expansion_terms: list[str] = Field(
        default_factory=list, description="Words added by abbreviation expansion (weighted lower)"
    )
    focus_terms: list[str] = Field(default_factory=list)
    expansions: dict[str, str] = Field(
        default_factory=dict, description="Abbreviation -> long form (or back) added to the search"
    )
    topic_terms: list[str] = Field(
        default_factory=list, description="Focus words that name a topic of the corpus"
    )
    qualifiers: list[str] = Field(
        default_factory=list, description="Focus words beyond the topic ('early', 'in children')"
    )
    droppable: list[str] = Field(
        default_factory=list,
        description="Qualifiers the corpus knows as ordinary words: they never force abstention",
    )
    unknown: list[str] = Field(
        default_factory=list,
        description="Qualifiers no indexed passage holds (a made-up drug): never set aside",
    )
    corrections: dict[str, str] = Field(
        default_factory=dict, description="Misspelt word -> the corpus word it was read as"
    )
    renamed: dict[str, str] = Field(
        default_factory=dict,
        description="A short form or synonym the sources do not write -> the name they use",
    )


class Hit(BaseModel):
    """One ranked passage with what the answer and the reference list need."""

    passage_id: str
    document_id: str
    title: str
    section: str
    text: str
    score: float
    source: str
    source_type: str
    evidence_level: EvidenceLevel
    year: int | None = None
    url: str | None = None
    audience: Audience = Audience.PROFESSIONAL
    start: int = 0
    end: int = 0
    components: dict[str, float] = Field(default_factory=dict)
    passage_extra: dict[str, str] = Field(
        default_factory=dict, description="The passage's annotations (cites, loe, page)"
    )

    @classmethod
    def of(
        cls, doc: Document, passage: Passage, score: float, components: dict[str, float]
    ) -> Hit:
        """The hit for `passage` of `doc`, with its score and the score's components."""
        return cls(
            passage_id=passage.id,
            document_id=doc.id,
            title=doc.title,
            section=passage.section,
            text=passage.text,
            score=score,
            source=doc.source,
            source_type=doc.source_type,
            evidence_level=doc.evidence_level,
            year=doc.year,
            url=doc.url,
            audience=doc.audience,
            start=passage.start,
            end=passage.end,
            components=components,
            passage_extra=passage.extra,
        )


class Statement(BaseModel):
    """One sentence of an answer and the reference numbers that support it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool = True
    quotes: list[str] = Field(
        default_factory=list,
        description="LLM mode: the passage text the statement rests on, verbatim in its "
        "references' quotes (a plain-language rewrite's original wording)",
    )


class RejectedStatement(BaseModel):
    """A statement the model wrote that failed a check, and which one (LLM mode)."""

    text: str
    kind: str | None = Field(default=None, description="Its section kind; None: the bottom line")
    passage_ids: list[str] = Field(default_factory=list, description="The passages it cited")
    quotes: list[str] = Field(default_factory=list, description="The quotes the model gave")
    check: str = Field(
        description="The first check it failed: citation, quote, numbers, units, negation, "
        "hedging, entities, similarity or judge"
    )
    reasons: list[str] = Field(default_factory=list)


class AnswerSection(BaseModel):
    """A headed group of statements; `kind` names its role (primary, evidence, pitfalls...)."""

    heading: str
    kind: str
    items: list[Statement] = Field(default_factory=list)


class Reference(BaseModel):
    """A numbered source passage; `quote` is document.text[start:end]."""

    n: int
    document_id: str
    passage_id: str
    title: str
    #: The heading of the passage's section in its document ("Treatment › Surgery").
    section: str | None = None
    source: str
    year: int | None = None
    evidence_level: EvidenceLevel
    url: str | None = None
    quote: str
    start: int
    end: int
    date: str | None = None
    page: str | None = Field(default=None, description="PDF page(s) the quote is on")
    grade: str | None = Field(default=None, description="The source's own level of evidence")
    supported_by: list[str] = Field(
        default_factory=list, description="What the quoted passage cites in its source"
    )
    age_note: str | None = Field(default=None, description="Set for a guideline past its age")


class EvidenceRow(BaseModel):
    """One row of 'evidence at a glance': the figures of one cited evidence statement."""

    citation: int = Field(description="Reference number of the statement's passage")
    study: str = Field(description="The study the source cites for it, else the source")
    design: str = Field(description="The cited source's evidence level")
    grade: str | None = Field(default=None, description="The source's own grade of it")
    figures: dict[str, str] = Field(
        description="patients, survival, effect, ci, p, rate: each a verbatim span of statement"
    )
    statement: str = Field(description="The sentence (or list item) the figures come from")


class GlossaryEntry(BaseModel):
    """A term of the answer defined on first use by a corpus sentence, cited like a statement."""

    term: str
    definition: str = Field(description="The definition sentence, verbatim in the cited quote")
    citation: int = Field(description="Reference number of the passage holding the definition")


class Answer(BaseModel):
    """A short cited clinical article answering one question (the `osler ask` JSON contract)."""

    question: str
    standalone_question: str
    audience: str
    question_type: str
    title: str
    bottom_line: Statement
    sections: list[AnswerSection] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    glossary: list[GlossaryEntry] = Field(
        default_factory=list, description="Medical terms defined on first use (patient, student)"
    )
    questions_to_ask: list[str] = Field(
        default_factory=list,
        description="General questions for the care team (patient); no medical content, uncited",
    )
    evidence_summary: dict[str, int] = Field(default_factory=dict)
    evidence_table: list[EvidenceRow] = Field(
        default_factory=list, description="Evidence at a glance: figures of the evidence statements"
    )
    abstained: bool = False
    abstain_reason: str | None = None
    notice: str | None = Field(default=None, description="Safety notice shown before the answer")
    status: str = "pending_review"
    disclaimer: str = ""
    composer: str = "extractive"
    composer_note: str | None = None
    rejected: list[RejectedStatement] = Field(
        default_factory=list,
        description="LLM mode: model statements that failed a check (never shown as the answer)",
    )
    generated_at: str = ""
    corpus_version: int = 0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    conversation_id: str | None = Field(default=None, description="Conversation this turn belongs to")
    article_id: str | None = Field(default=None, description="Editorial article this answer is")
    last_updated: str | None = Field(default=None, description="When the served version was approved")
    reviewed_by: list[str] = Field(
        default_factory=list, description="Reviewers who approved it, with their credentials"
    )
    new_evidence: str | None = Field(
        default=None, description="Why an approved article awaits re-review (new or changed evidence)"
    )
    follow_ups: list[str] = Field(
        default_factory=list, description="Questions about facets the sources cover and this answer did not"
    )


class ArticleStatus(StrEnum):
    """Where an article stands in the editorial workflow."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    ARCHIVED = "archived"


class Role(StrEnum):
    """What a user may do; one user can hold several roles."""

    READER = "reader"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class User(BaseModel):
    """A person of the editorial team (readers need no account)."""

    id: int
    name: str
    roles: list[Role]
    credentials: str = Field("", description="Shown on approved articles, e.g. 'MD, FACP'")
    active: bool = True

    @property
    def signature(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class ReferenceSnapshot(BaseModel):
    """What a cited passage said when the version was saved."""

    n: int
    document_id: str
    passage_id: str
    quote: str
    evidence_level: str


class ArticleVersion(BaseModel):
    """One immutable version of an article's answer."""

    article_id: str
    number: int
    answer: Answer
    references: list[ReferenceSnapshot]
    corpus_version: int
    author: str
    comment: str = ""
    diff: str = Field("", description="Unified diff of the Markdown against the previous version")
    created_at: str


class Article(BaseModel):
    """An answer under editorial control: question, audience, status, versions."""

    id: str
    question: str
    normalized_question: str
    audience: str
    status: ArticleStatus
    revision: int = Field(description="Bumped by every change; writes must name the one they saw")
    latest_version: int
    approved_version: int | None = None
    approved_at: str | None = None
    needs_re_review: bool = False
    re_review_reason: str | None = None
    created_by: str
    created_at: str
    updated_at: str


class AuditEntry(BaseModel):
    """One line of the append-only audit log."""

    seq: int
    at: str
    actor: str
    article_id: str | None
    action: str
    from_status: str | None = None
    to_status: str | None = None
    version: int | None = None
    comment: str = ""
