"""Evidence levels and the one rule table that assigns them.

Order of precedence: an explicit level (front matter) wins; then PubMed publication types;
then MeSH study-design headings; then the source's own nature (consumer pages are patient
education); then cues in the title, the abstract and a full text's methods section (marked
inferred); else not graded: a wrong level is worse than none, so nothing is called a review or
opinion without a cue that says so, and a cue must speak of the article itself ("this
review", "patients were randomly assigned"), not of other studies it mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from osler.models import EvidenceLevel

L = EvidenceLevel

#: PubMed PublicationType -> level. Only types that say something about study design.
PUBLICATION_TYPE_LEVELS: dict[str, EvidenceLevel] = {
    "practice guideline": L.GUIDELINE,
    "guideline": L.GUIDELINE,
    "consensus development conference": L.GUIDELINE,
    "consensus development conference, nih": L.GUIDELINE,
    "systematic review": L.SYSTEMATIC_REVIEW,
    "meta-analysis": L.SYSTEMATIC_REVIEW,
    "network meta-analysis": L.SYSTEMATIC_REVIEW,
    "randomized controlled trial": L.RCT,
    "equivalence trial": L.RCT,
    "pragmatic clinical trial": L.RCT,
    "clinical trial, phase iii": L.RCT,
    "controlled clinical trial": L.OBSERVATIONAL,
    "clinical trial": L.OBSERVATIONAL,
    "clinical trial, phase i": L.OBSERVATIONAL,
    "clinical trial, phase ii": L.OBSERVATIONAL,
    "clinical trial, phase iv": L.OBSERVATIONAL,
    "observational study": L.OBSERVATIONAL,
    "comparative study": L.OBSERVATIONAL,
    "multicenter study": L.OBSERVATIONAL,
    "evaluation study": L.OBSERVATIONAL,
    "validation study": L.OBSERVATIONAL,
    "twin study": L.OBSERVATIONAL,
    "case reports": L.CASE_REPORT,
    "review": L.EXPERT_OPINION,
    "editorial": L.EXPERT_OPINION,
    "comment": L.EXPERT_OPINION,
    "letter": L.EXPERT_OPINION,
    "historical article": L.EXPERT_OPINION,
    "lecture": L.EXPERT_OPINION,
    # notices about another article (whose design their title may name) report no study
    "published erratum": L.NOT_GRADED,
    "retraction of publication": L.NOT_GRADED,
}

#: MeSH headings that describe the design of the study itself (not "... as Topic").
MESH_LEVELS: dict[str, EvidenceLevel] = {
    "random allocation": L.RCT,
    "double-blind method": L.RCT,
    "single-blind method": L.RCT,
    "cohort studies": L.OBSERVATIONAL,
    "case-control studies": L.OBSERVATIONAL,
    "cross-sectional studies": L.OBSERVATIONAL,
    "prospective studies": L.OBSERVATIONAL,
    "retrospective studies": L.OBSERVATIONAL,
    "longitudinal studies": L.OBSERVATIONAL,
    "follow-up studies": L.OBSERVATIONAL,
}

#: "randomized"/"randomised" (and "randomization") as the study's own allocation, not
#: "non-randomized", "quasi-randomized", "Mendelian randomization" or the ISRCTN registry's
#: name ("International Standard Randomised Controlled Trial Number"), nor "a recent randomized
#: trial"; "cluster-randomized" is.
_RANDOM = (
    r"(?<!\w)(?<!non-)(?<!quasi-)(?<!pseudo-)(?<!non )(?<!not )(?<!quasi )(?<!mendelian )"
    r"(?<!standard )(?<!recent )(?<!previous )(?<!prior )(?<!earlier )(?<!other )(?<!future )"
    r"(?<!further )randomi[sz](?:ed|ation)"
)
#: Design words that may stand between "randomized" and "trial" ("randomised, placebo-controlled,
#: double-blind, cross-over study", "randomized, single-masked (participant), short-term
#: clinical trial"), at most six.
_DESIGN_WORDS = r"(?:,? (?:and |or )?(?:[\w/\u2010\u2011-]+|\([^()]{1,40}\))){0,6}?,?"
#: What a randomized study calls itself. Only the singular: "randomized trials have shown" is
#: about other studies, and so is "a randomized trial is needed".
_TRIAL = (
    r"(?:trial|study|design|comparison|experiment|investigation|evaluation|intervention|"
    r"fashion|manner)\b"
    r"(?! (?:is|are|would be|should be|will be) (?:needed|warranted|required))"
)
_RCT = re.compile(
    rf"\b({_RANDOM}{_DESIGN_WORDS} {_TRIAL}"
    rf"|{_RANDOM} (?:to|into|in a|between|at|using|by|according to|\d:\d|all|\d[\d,]* \w+)\b"
    r"|we (?:\w+ )?randomi[sz]ed\b"
    r"|random(?:ly)? (?:assigned|allocated|assignment|allocation)"
    r"|randomly (?:divided|enrolled|treated|split|placed|received|grouped|allotted)"
    r"|(?:assigned|allocated|allotted|divided|included) (?:\w+,? ){0,5}?(?:randomly|at random)"
    r"|(?:table of random numbers|random[- ]numbers? (?:table|generat)|computer-generated random)"
    r"|(?:sequence|order|interventions|treatments|conditions|sessions) (?:[\w-]+ ){0,6}?"
    r"(?:was|were) randomi[sz]ed\b"
    r"|(?<!\w)(?<!mendelian )randomi[sz]ation\b"
    r"|double-blind(?:ed)?,? (?:randomi[sz]ed|placebo)|placebo-controlled,? double-blind"
    r"|(?:this|an?|our) (?:[\w-]+ ){0,3}RCT\b)",
    re.I,
)
#: "review" as something done, not the article's genre: "medication review", "chart review",
#: "expert review of variant calls", "case review".
_NOT_GENRE = (
    r"(?<!medication )(?<!medicines )(?<!drug )(?<!chart )(?<!record )(?<!records )"
    r"(?<!peer )(?<!expert )(?<!case )(?<!retrospective )(?<!utilization )(?<!utilisation )"
)
_GENRE = r"(?:review|overview|editorial|commentary)\b"
#: A title that names the article's own genre: "Review of ...", "...: a review", "...: A
#: Narrative Review of ...", "(Review)", "literature review", "review of the literature",
#: "An overview of", "Commentary", "Perspectives on". Not "...: review of the PURSUIT study"
#: or "...: a new perspective".
_REVIEW_TITLE = re.compile(
    rf"^(?:an? (?:[\w-]+ ){{0,2}}?)?{_NOT_GENRE}{_GENRE}"
    rf"|[:;.?!(\[\u2013\u2014]\s*(?:an?|the) (?:[\w-]+ ){{0,2}}?{_NOT_GENRE}{_GENRE}"
    rf"|[:;.?!(\[\u2013\u2014]\s*(?:[\w-]+ )?{_NOT_GENRE}{_GENRE}\s*[)\]]?\s*(?:\.|$)"
    r"|\b(?:literature|narrative|critical|comprehensive|brief|mini|short|clinical|"
    r"evidence-based|state-of-the-art|historical|current|updated?|general|selective|"
    r"integrative|scoping|structured|concise|practical)[- ]review\b|\bminireview\b"
    r"|\breview of (?:the )?(?:\w+ )?(?:literature|evidence|studies|trials|research|advances)"
    r"|\b(?:an?|clinical|brief|general) overview\b|\boverview (?:of|on)\b"
    r"|\b(?:editorial|commentary)\b|^perspectives?\b|\bperspectives? on\b",
    re.I,
)
#: An abstract that calls the article a review ("This review summarizes", "Here we review",
#: "This article reviews"); "we reviewed the records of 40 patients" is a chart review.
_REVIEW_ABSTRACT = re.compile(
    r"\b((?:this|the present|our) (?:(?!retrospective|chart|records?\b|case)(?:[\w-]+ |\w+-)){0,2}"
    r"(?:review|overview|commentary|"
    r"editorial|perspective)\b(?! (?:board|committee))"
    r"|(?:this|the present|our) (?:article|paper|chapter|manuscript)s? (?:\w+ ){0,2}?"
    r"(?:reviews?|summari[sz]es|overviews|discusses)\b"
    r"|we (?:\w+ )?review\b"
    r"|we (?:\w+ )?reviewed (?:the )?(?:\w+ ){0,3}?(?:literature|evidence|publications|"
    r"recommendations|guidelines)\b"
    r"|in this (?:article|paper|chapter|manuscript),? we (?:\w+ )?(?:review|summari[sz]e|"
    r"discuss|outline|highlight|provide an overview))",
    re.I,
)

#: Text cues, strongest level first: (level, cue in a title, cue in an abstract). Abstract cues
#: must speak of the study itself ("we performed a meta-analysis"), since abstracts often
#: mention guidelines or reviews in passing. The order they are tried in is TITLE_ORDER and
#: ABSTRACT_ORDER.
TEXT_CUES: list[tuple[EvidenceLevel, re.Pattern[str], re.Pattern[str]]] = [
    (
        L.GUIDELINE,
        re.compile(
            r"\b(guidelines?|consensus (statement|conference|recommendations?)|position "
            r"(statement|paper)|recommendations (for|on))\b",
            re.I,
        ),
        re.compile(
            r"\b((this|these|present|updated?) (clinical )?(practice )?guidelines?|this consensus|"
            r"(we|panel|committee|task force) (present|provide|issued?|developed?|make)s? "
            r"(\w+ ){0,3}(recommendations|guidelines?|consensus))\b",
            re.I,
        ),
    ),
    (
        L.SYSTEMATIC_REVIEW,
        re.compile(
            r"\b(systematic(al)? reviews?|meta-?analys[ie]s|pooled (individual[- ]"
            r"(patient |participant )?data |data )?analys[ie]s)\b",
            re.I,
        ),
        re.compile(
            r"\b((we|this|present) (\w+ ){0,3}(systematic(al)?(ly)? review(ed)?|meta-?analys[ie]s)|"
            r"(systematic(al)? review|meta-?analysis) (of (\w+ ){0,4}?(individual (patient|"
            r"participant) data|studies|trials|literature|articles|publications|RCTs)|was "
            r"(conducted|performed)))\b",
            re.I,
        ),
    ),
    (L.RCT, _RCT, _RCT),
    (
        L.OBSERVATIONAL,
        # not a trial registry ("Iranian Registry of Clinical Trials", "ISRCTN registry")
        _OBS := re.compile(
            r"\b(cohort|case-control|cross-sectional|retrospective(ly)?|"
            r"(?<!trials )(?<!trial )(?<!isrctn )(?<!clinicaltrials\.gov )registry"
            r"(?! (?:of|for) (?:clinical )?trials| (?:number|no\b|identifier))|"
            r"population-based|longitudinal study|observational|survey)\b",
            re.I,
        ),
        _OBS,
    ),
    (
        L.CASE_REPORT,
        re.compile(
            r"\b(case reports?|case series|a case of|report of (a|an|two|three) cases?)\b", re.I
        ),
        re.compile(
            r"\b(we (report|present|describe) (a|an|the|two|three) (\w+ ){0,3}(case|patient)s?|"
            r"a \d{1,3}-year-old (man|woman|male|female|boy|girl|patient|child|infant))\b",
            re.I,
        ),
    ),
    (L.EXPERT_OPINION, _REVIEW_TITLE, _REVIEW_ABSTRACT),
]
#: A title that names one randomized trial is the trial's report (or protocol), whatever else
#: it names ("Implementing a guideline ...: a cluster-randomized trial"), so that cue comes first.
TITLE_ORDER = [
    L.RCT,
    L.GUIDELINE,
    L.SYSTEMATIC_REVIEW,
    L.OBSERVATIONAL,
    L.CASE_REPORT,
    L.EXPERT_OPINION,
]
#: An abstract that calls the article a guideline, a systematic review or a review says what
#: it is; its trial wording may be about the trials it reviews ("This review ... a randomized
#: phase III trial showed"), so the genres come before the designs.
ABSTRACT_ORDER = [
    L.GUIDELINE,
    L.SYSTEMATIC_REVIEW,
    L.EXPERT_OPINION,
    L.RCT,
    L.OBSERVATIONAL,
    L.CASE_REPORT,
]

#: Cues for the methods section of a full-text article, after the title and the abstract:
#: only how participants were allocated, since methods also name registries and surveys.
METHODS_CUES: list[tuple[EvidenceLevel, re.Pattern[str]]] = [(L.RCT, _RCT)]

#: Weak cues, used only when no place has a cue above: "prospective" fits a cohort and a
#: trial alike ("a prospective, placebo-controlled study"), so it says observational only
#: when nothing says randomized.
WEAK_CUES: list[tuple[EvidenceLevel, re.Pattern[str]]] = [
    (L.OBSERVATIONAL, re.compile(r"\bprospective(ly)?\b", re.I))
]

#: Names (lower case) that users may write in front matter for each level.
LEVEL_ALIASES: dict[str, EvidenceLevel] = {
    **{level.value: level for level in EvidenceLevel},
    **{level.value[0]: level for level in EvidenceLevel if level.value[0].isdigit()},
    "not graded": L.NOT_GRADED,
    "ungraded": L.NOT_GRADED,
    "guideline": L.GUIDELINE,
    "consensus": L.GUIDELINE,
    "systematic-review": L.SYSTEMATIC_REVIEW,
    "systematic review": L.SYSTEMATIC_REVIEW,
    "meta-analysis": L.SYSTEMATIC_REVIEW,
    "rct": L.RCT,
    "randomized controlled trial": L.RCT,
    "observational": L.OBSERVATIONAL,
    "cohort": L.OBSERVATIONAL,
    "case-report": L.CASE_REPORT,
    "case report": L.CASE_REPORT,
    "case series": L.CASE_REPORT,
    "expert-opinion": L.EXPERT_OPINION,
    "expert opinion": L.EXPERT_OPINION,
    "review": L.EXPERT_OPINION,
    "narrative review": L.EXPERT_OPINION,
    "patient-education": L.PATIENT_EDUCATION,
    "patient education": L.PATIENT_EDUCATION,
}


@dataclass(frozen=True)
class Assessment:
    """An evidence level with how it was reached."""

    level: EvidenceLevel
    inferred: bool
    reason: str


def parse_level(value: str) -> EvidenceLevel:
    """Read a level a person wrote ("1", "guideline", "3-rct"); ValueError if unknown."""
    key = str(value).strip().lower()
    if key in LEVEL_ALIASES:
        return LEVEL_ALIASES[key]
    raise ValueError(
        f"unknown evidence level {value!r}; use one of: "
        + ", ".join(level.value for level in EvidenceLevel)
    )


def _strongest(
    names: list[str], table: dict[str, EvidenceLevel]
) -> tuple[EvidenceLevel, str] | None:
    found = [(table[n.strip().lower()], n) for n in names if n.strip().lower() in table]
    return min(found, key=lambda pair: pair[0].rank) if found else None


def from_text(title: str, abstract: str = "", methods: str = "") -> Assessment | None:
    """Infer a level from cues: the title's, the abstract's, the methods section's, then weak
    cues in the title and abstract; None when nothing matches."""
    by_level = {cue[0]: cue for cue in TEXT_CUES}
    places: list[tuple[str, str, list[tuple[EvidenceLevel, re.Pattern[str]]]]] = [
        ("title", title, [(level, by_level[level][1]) for level in TITLE_ORDER]),
        ("abstract", abstract, [(level, by_level[level][2]) for level in ABSTRACT_ORDER]),
        ("methods section", methods, METHODS_CUES),
        ("title", title, WEAK_CUES),
        ("abstract", abstract, WEAK_CUES),
    ]
    for where, text, cues in places:
        for level, pattern in cues:
            match = pattern.search(text or "")
            if match:
                return Assessment(level, True, f"{where} mentions {match.group(0)!r}")
    return None


def assess(
    *,
    title: str = "",
    abstract: str = "",
    methods: str = "",
    publication_types: list[str] | None = None,
    mesh_terms: list[str] | None = None,
    consumer: bool = False,
    explicit: str | None = None,
) -> Assessment:
    """Assign the evidence level of one document by the precedence in this module's docstring."""
    if explicit:
        return Assessment(parse_level(explicit), False, "given by the document")
    found = _strongest(publication_types or [], PUBLICATION_TYPE_LEVELS)
    if found:
        return Assessment(found[0], False, f"publication type {found[1]!r}")
    found = _strongest(mesh_terms or [], MESH_LEVELS)
    if found:
        return Assessment(found[0], False, f"MeSH heading {found[1]!r}")
    if consumer:
        return Assessment(L.PATIENT_EDUCATION, False, "consumer health source")
    cue = from_text(title, abstract, methods)
    if cue:
        return cue
    return Assessment(L.NOT_GRADED, False, "no study design stated or detected")
