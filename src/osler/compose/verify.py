"""Does a cited passage support a sentence? A cheap, transparent check for model-written text.

A sentence is supported by the passages it cites when all of these hold:

- it cites something (no passage, no support);
- every number it states (integers, decimals, percentages, "two" ... "ninety") is in a cited
  passage;
- most of its content words (stop words removed, crudely stemmed) are in the cited passages, and
  every word it adds that is not in them is a generic word (a hedge, a connective, "patients",
  "condition" ...): a drug, disease, organ or finding the passages do not name makes it unsupported;
- negation agrees with the passage clauses that match it best ("is not" vs "is", "without" ...).

It is lexical on purpose: it cannot judge paraphrase, so a faithful paraphrase that brings in new
specific words is flagged. That errs on the safe side for clinical text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from osler.ingest.sentences import sentence_spans

#: Share of the sentence's content words that must occur in the cited passages.
MIN_COVERAGE = 0.6

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself
    just me more most my myself of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves may might must shall us per via within upon
    etc e.g i.e vs""".split()
)

#: Words a writer adds when restating a passage; missing from it, they do not make a claim new.
GENERIC = frozenset(
    """usually often commonly typically generally frequently sometimes occasionally mostly mainly
    primarily especially particularly normally possibly potentially likely probably approximately
    about around nearly roughly overall important key main major common several many various
    different certain specific other another additional further new same similar such like
    including include includes included include involve involves involving consist consists
    people person patient patients individual individuals someone adult adults child children
    doctor doctors provider providers clinician clinicians health care healthcare medical
    condition conditions disease diseases disorder disorders problem problems illness illnesses
    symptom symptoms sign signs treatment treatments therapy therapies option options
    approach approaches way ways method methods type types kind kinds form forms
    help helps helped helping use used uses using called known refer refers referred
    cause causes caused result results lead leads make makes made get gets take takes taken
    need needs needed show shows showed shown find found study studies research evidence
    data report reported reports suggest suggests suggested indicate indicates
    well better best good also however therefore thus although though whereas because since
    one first second third last recent recently current currently early later
    do done given give gives receive receives received undergo undergoes underwent
    thing things part parts case cases group groups number amount level levels
    able possible important significant significantly associated related""".split()
)

#: Negation cues; any of them makes a clause negative.
NEGATION = re.compile(
    r"\b(no|not|never|without|neither|nor|none|cannot|fail(s|ed)? to|absence of|absent|"
    r"lack(s|ed|ing)? of|unable to)\b",
    re.I,
)

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
    if i >= 2
} | {
    w: str(10 * i)
    for i, w in enumerate("_ _ _ thirty forty fifty sixty seventy eighty ninety".split())
    if i >= 3
}

_CITATION = re.compile(r"\[\s*\d+(?:\s*[-–,;]\s*\d+)*\s*\]")
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z][a-z0-9]*(?:'[a-z]+)?")
_CLAUSE_BREAK = re.compile(
    r"[,;:]|\s[-–]\s|\b(?:but|although|though|whereas|while|however|yet|because|unless)\b", re.I
)


@dataclass
class Verdict:
    """Whether the cited passages support a sentence, and what failed when they do not."""

    supported: bool
    reasons: list[str] = field(default_factory=list)


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match "treated"/"treatment"/"treats"."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, repl, min_len in (
        ("ational", "ate", 8),
        ("ization", "ize", 8),
        ("ments", "", 7),
        ("ment", "", 6),
        ("ations", "", 8),
        ("ation", "", 7),
        ("ingly", "", 7),
        ("ities", "", 7),
        ("ity", "", 6),
        ("ness", "", 6),
        ("ies", "y", 5),
        ("ied", "y", 5),
        ("sses", "ss", 5),
        ("edly", "", 6),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if len(w) >= min_len and w.endswith(suffix) and not w.endswith(("ss", "us", "is", "ous")):
            w = w[: -len(suffix)] + repl
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def strip_citations(text: str) -> str:
    """The sentence without its [n] markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _CITATION.sub("", text)).strip()


def numbers(text: str) -> set[str]:
    """Numbers stated in a text, normalised ("1,000" -> "1000", "5.0" -> "5", "two" -> "2")."""
    out = set()
    for m in _NUMBER.finditer(text):
        value = m.group().replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        out.add(value)
    for w in _WORD.findall(text.lower()):
        if w in _NUMBER_WORDS:
            out.add(_NUMBER_WORDS[w])
    return out


def _normalise(text: str) -> str:
    """Lower case, straight quotes, contractions spelled out ("doesn't" -> "does not")."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\bcan't\b", "cannot", text)
    text = re.sub(r"\bwon't\b", "will not", text)
    return re.sub(r"n't\b", " not", text)


def content_words(text: str) -> list[str]:
    """Stemmed content words (stop words, negation cues and bare numbers removed), in order."""
    out = []
    for w in _WORD.findall(_normalise(text)):
        if w in STOP_WORDS or w in _NUMBER_WORDS or NEGATION.fullmatch(w) or len(w) < 2:
            continue
        out.append(stem(w))
    return out


@dataclass
class Clause:
    sentence: int
    text: str
    parenthetical: bool


def _clauses(passage: str) -> list[Clause]:
    """The passage cut at punctuation and contrastive conjunctions, parentheticals marked."""
    sentences = [
        line[start:end] for line in passage.split("\n") for start, end in sentence_spans(line)
    ]
    out = []
    for n, sentence in enumerate(sentences):
        depth = 0
        for piece in re.split(r"([()])", sentence):
            if piece in "()":
                depth = max(0, depth + (1 if piece == "(" else -1))
                continue
            out += [Clause(n, c, depth > 0) for c in _CLAUSE_BREAK.split(piece) if c.strip()]
    return out


#: Longest run of clauses a sentence is matched against.
MAX_SPAN = 12


def matching_span(sentence: str, passages: list[str]) -> list[Clause]:
    """The passage clauses that best match the sentence's words (by F1).

    A match is a run of contiguous clauses. Clauses with content words none of which the
    sentence shares (a parenthetical of statistics the sentence left out) are stepped over. Of
    equally good runs, the one within fewer sentences and then with more clauses wins, so that a
    clause adding no new content word ("but did not breastfeed", "or without") is counted with
    the clause it qualifies, while a neighbouring sentence is not.
    """
    claim = set(content_words(sentence))
    best: list[Clause] = []
    best_key: tuple[float, int, int] = (0.0, 0, 0)
    for passage in passages:
        clauses = _clauses(passage)
        words = [set(content_words(c.text)) for c in clauses]
        for i in range(len(clauses)):
            if not claim & words[i]:
                continue
            span: set[str] = set()
            kept: list[Clause] = []
            sentences: set[int] = set()
            for j in range(i, min(len(clauses), i + MAX_SPAN)):
                if words[j] and not claim & words[j]:
                    continue
                span |= words[j]
                kept.append(clauses[j])
                sentences.add(clauses[j].sentence)
                score = 2 * len(claim & span) / (len(claim) + len(span))
                key = (round(score, 9), -len(sentences), len(kept))
                if key > best_key:
                    best, best_key = list(kept), key
    return best


def negations(text: str) -> int:
    """How many negation cues a text holds."""
    return len(NEGATION.findall(_normalise(text)))


def verify(sentence: str, passages: list[str]) -> Verdict:
    """Whether `passages` (the texts the sentence cites) support `sentence`; reasons when not."""
    text = strip_citations(sentence)
    passages = [p for p in passages if p and p.strip()]
    if not passages:
        return Verdict(False, ["no citation"])
    claim = content_words(text)
    if not claim:
        return Verdict(False, ["no content words to check"])
    reasons: list[str] = []
    joined = "\n".join(passages)
    missing_numbers = sorted(numbers(text) - numbers(joined))
    if missing_numbers:
        reasons.append("numbers not in the cited passages: " + ", ".join(missing_numbers))
    source = set(content_words(joined))
    unique = list(dict.fromkeys(claim))
    shared = [w for w in unique if w in source]
    coverage = len(shared) / len(unique)
    if coverage < MIN_COVERAGE - 1e-9:
        reasons.append(f"only {coverage:.0%} of its content words are in the cited passages")
    generic = {stem(w) for w in GENERIC}
    novel = [w for w in unique if w not in source and w not in generic]
    if novel:
        reasons.append("terms not in the cited passages: " + ", ".join(novel))
    span = matching_span(text, passages)
    if span:
        # A sentence that leaves out the passage's parentheticals leaves out their negations.
        claim_all = negations(text)
        span_all = sum(negations(c.text) for c in span)
        span_outside = sum(negations(c.text) for c in span if not c.parenthetical)
        dropped_parens = "(" not in text and span_outside != span_all
        if claim_all != span_all and not (dropped_parens and claim_all == span_outside):
            quote = " ".join(c.text.strip() for c in span)
            reasons.append(
                f"negation disagrees: {claim_all} negation cue(s) in the sentence, "
                f"{span_all} in the passage clause {quote[:80]!r}"
            )
    return Verdict(not reasons, reasons)
