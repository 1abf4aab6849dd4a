"""Who is reading: one Profile per audience, the only place per-audience behaviour lives.

"Which best describes you?" changes the answer through the reader's profile:

- sources: which document audience ranking prefers (consumer pages for patients, the
  professional literature for clinicians) and how each evidence level is weighted;
- sentence choice: a Flesch-Kincaid target grade above which the composer penalises a sentence;
- vocabulary: whether medical terms are defined from the corpus glossary on first use;
- wording: section headings, the disclaimer, and the patient's generic questions for the
  care team (questions only, never medical content: they name no condition, test or treatment).

The API, the CLI (`--audience`) and the web selector all take a profile name and pass through
`profile_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from osler.models import Audience, EvidenceLevel

L = EvidenceLevel


class UnknownAudience(ValueError):
    """The audience is not one of the profiles (clinician, student, patient)."""


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))


#: Guideline first, down to expert opinion; consumer pages count for nothing as evidence.
PROFESSIONAL_EVIDENCE = _frozen({level: max(0.0, (7 - level.rank) / 6) for level in L})
#: Patient education leads; the professional levels keep their order at half weight.
CONSUMER_EVIDENCE = _frozen(
    {level: 1.0 if level is L.PATIENT_EDUCATION else (7 - level.rank) / 12 for level in L}
)

#: Plain-language headings for patients and caregivers (section kind -> heading).
PATIENT_HEADINGS = _frozen(
    {
        "primary": "Treatment options",
        "evidence": "What studies found",
        "selection": "Who it is for",
        "pitfalls": "Things to watch out for",
        "steps": "What to expect",
        "definition": "What it is",
        "tests": "Tests your care team may use",
        "warning": "When to get help",
        "prognosis": "Outlook",
        "symptoms": "Signs and symptoms",
        "causes": "Causes",
        "risk": "Who is more likely to get it",
        "genetics": "Genes and family history",
        "side_effects": "Side effects",
        "dosage": "How it is taken",
        "interactions": "Other medicines and foods",
        "other": "Other options",
        "trials": "Clinical trials",
        "findings": "What studies found",
        "frequency": "How common it is",
        "limitations": "What is still unclear",
    }
)

#: The disclaimer under every answer: professional for clinicians and students, plain
#: language for patients and caregivers.
DISCLAIMER = (
    "For educational use by health professionals. Osler summarises the sources it cites; it does "
    "not replace clinical judgement, and its answers are pending review by the medical advisory "
    "board until marked approved. Check the cited sources before acting on them."
)
PATIENT_DISCLAIMER = (
    "This information is for learning, not a diagnosis or treatment plan. Talk with your doctor "
    "or care team about your own situation. In an emergency, call your local emergency number."
)

QUESTIONS_HEADING = "Questions to ask your care team"
QUESTIONS_NOTE = (
    "General questions to bring to your appointment; they are not taken from the sources."
)
#: Generic questions a patient can bring to an appointment, by template. They make no medical
#: claim (no condition, test, drug or figure), so they need no source; they are shown apart
#: from the cited statements and labelled as general questions.
PATIENT_QUESTIONS = _frozen(
    {
        "treatment": (
            "Which treatment options fit my situation, and why?",
            "What are the possible benefits and side effects of each option?",
            "How will we know whether the treatment is working?",
        ),
        "diagnosis": (
            "Which tests do I need, and what will they tell us?",
            "How should I prepare for the tests?",
            "When will I get the results, and who will explain them to me?",
        ),
        "drug": (
            "How and when should I take this medicine?",
            "What should I do if I miss a dose?",
            "Can I take it with my other medicines and supplements?",
        ),
        "default": (
            "What does this mean for me?",
            "What should I watch for, and when should I call you?",
            "Where can I find reliable information to learn more?",
        ),
    }
)


@dataclass(frozen=True)
class Profile:
    """Everything that differs between audiences, in one object."""

    name: str
    label: str
    #: How the LLM composer's prompt names the reader.
    reader: str
    #: The document audience ranking prefers (None: no preference, every document scores 0.5).
    document_audience: Audience | None
    #: Evidence factor in [0, 1] per evidence level (before the inferred-level discount).
    evidence_weights: Mapping[EvidenceLevel, float]
    disclaimer: str
    #: Composer bonus for a sentence from a document written for this reader (`audience_fit`).
    source_weight: float = 0.0
    #: Flesch-Kincaid grade above which the extractive composer penalises a sentence.
    readability_target: float | None = None
    #: Largest penalty (a sentence `readability_span` grades or more above target gets it all).
    readability_weight: float = 0.0
    readability_span: float = 6.0
    #: The composer keeps the answer's grade at or below the ceiling once it holds
    #: `min_statements` (below the limit before that), and skips sentences above the limit;
    #: when nothing passes, the best sentence alone answers (see extractive.select).
    readability_ceiling: float | None = None
    readability_limit: float | None = None
    min_statements: int = 3
    #: When no sentence is plain enough, the plainest of those scoring within this margin of
    #: the best answers alone.
    fallback_margin: float = 0.0
    #: Items of a long list shown (its first ones; None: the composer's default).
    list_items: int | None = None
    #: Define corpus glossary terms on first use.
    glossary: bool = False
    #: Section kind -> heading, over the template's neutral headings.
    headings: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    #: Template name (or "default") -> generic questions for the care team.
    questions: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _frozen({}))
    questions_heading: str = QUESTIONS_HEADING

    def evidence(self, level: EvidenceLevel, inferred: bool = False) -> float:
        """Evidence factor of a level for this reader; a level inferred from text counts 3/4,
        and so does 'not graded' (it ranks as expert opinion, 6): a document of no stated
        design weighs what it did when it was guessed to be an inferred expert opinion."""
        guessed = inferred or level is L.NOT_GRADED
        return self.evidence_weights[level] * (0.75 if guessed else 1.0)

    def audience_fit(self, audience: Audience) -> float:
        """1 when a document was written for this reader, 0 when not, 0.5 without preference."""
        return 0.5 if self.document_audience is None else float(audience is self.document_audience)

    def readability_penalty(self, grade: float) -> float:
        """How much a sentence of this grade loses in the composer's score (0 at or below target)."""
        if self.readability_target is None or not self.readability_weight:
            return 0.0
        over = max(0.0, grade - self.readability_target) / self.readability_span
        return self.readability_weight * min(1.0, over)

    def heading(self, kind: str, default: str) -> str:
        return self.headings.get(kind, default)

    def questions_for(self, template: str) -> list[str]:
        """Generic care-team questions for a template (empty for audiences without them)."""
        return list(self.questions.get(template) or self.questions.get("default") or ())


PROFILES: dict[str, Profile] = {
    "clinician": Profile(
        name="clinician",
        label="Clinician",
        reader="clinicians",
        document_audience=Audience.PROFESSIONAL,
        evidence_weights=PROFESSIONAL_EVIDENCE,
        disclaimer=DISCLAIMER,
    ),
    "student": Profile(
        name="student",
        label="Student",
        reader="medical students",
        document_audience=None,
        evidence_weights=PROFESSIONAL_EVIDENCE,
        disclaimer=DISCLAIMER,
        glossary=True,
    ),
    "patient": Profile(
        name="patient",
        label="Patient or caregiver",
        reader="patients and caregivers",
        document_audience=Audience.CONSUMER,
        evidence_weights=CONSUMER_EVIDENCE,
        disclaimer=PATIENT_DISCLAIMER,
        source_weight=0.15,
        readability_target=8.0,
        readability_weight=0.8,
        readability_ceiling=7.0,
        readability_limit=12.0,
        min_statements=2,
        fallback_margin=0.15,
        list_items=5,
        glossary=True,
        headings=PATIENT_HEADINGS,
        questions=PATIENT_QUESTIONS,
    ),
}
DEFAULT = "clinician"
#: The audience names, in the order the selector shows them.
READERS: tuple[str, ...] = tuple(PROFILES)


def profile_for(name: str | Profile) -> Profile:
    """The profile of an audience name (a Profile is returned as is); UnknownAudience if none."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise UnknownAudience(
            f"unknown audience {name!r}; use one of {', '.join(PROFILES)}"
        ) from None
