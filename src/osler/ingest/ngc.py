"""National Guideline Clearinghouse (NGC) guideline summaries: one XML file per guideline.

A record is `<Version>` → `<Section Name=...>` → `<Field Name=... Type=...>` → `<FieldValue
Value=.../>`, each value escaped HTML. One document per file, id `ngc:<number>` from the file
name (`ngc-10000.xml` → `ngc:10000`). The records carry no URL of their own summary (only links
to other summaries), so `url` is left empty.

Fields that become sections, in this order (a field whose whole text is a placeholder such as
"None provided", "Not stated" or "Not applicable" is left out):

- Major Recommendations
- Clinical Algorithm(s)
- Rating Scheme for the Strength of the Evidence, Rating Scheme for the Strength of the
  Recommendations
- Potential Benefits, Potential Harms, Contraindications, FDA Warning/Regulatory Alert
- Disease/Condition(s), Other Disease/Condition(s) Addressed, Target Population, Intended Users
- Guideline Objective(s), Interventions and Practices Considered, Major Outcomes Considered
- Type of Evidence Supporting the Recommendations, Cost Analysis

Fields kept as metadata, not passages: Guideline Title (title), Guideline Developer(s)
(`authors`, without the NGC organisation type, and `extra["developer"]`), Date Released
(`pub_date`, `year`, and the text as `extra["released"]`), Guideline Status
(`extra["status"]`), Bibliographic Source(s) (`extra["citation"]`), Clinical Specialty
(`extra["specialty"]`), and the scheme the rating-scheme fields name (`extra["rating_scheme"]`:
GRADE, USPSTF, SIGN, ... when named there).

Fields left out: how the evidence was collected, analysed and turned into recommendations
(the methodology fields and their picklists), validation, implementation and its tools, IOM
categories, adaptation, funding, committee, composition, conflicts of interest, endorsers,
availability, companion documents, patient resources, references, NQMC measures, the NEATS
ratings (numbers), NGC status, copyright, the NGC disclaimer, and Qualifying Statements (mostly
the developer's disclaimer of liability, the same few paragraphs in every guideline of a
developer): citations and administration, not clinical content.

The HTML becomes text by `local.html_fragment_text` (lists as "- " lines, bold or heading
paragraphs as sub-heading lines, table rows as "- " lines labelled by the header row). Text
that was UTF-8 decoded twice upstream ("CriteriaÂ®" for "Criteria®") is repaired, and the ACR
radiation level icons become "☢". A grade written in brackets right after a recommendation
("... (Grade 1C).", "... [B]", "(Level of Evidence = IV)") stays in the text and is also marked
as the passage's `loe` (see `grade_of`) in the bracket's own words ("Grade 1C", "B", "LE=4;
GR=C": commas become semicolons, since a passage's grades are joined by commas);
`extra["grade_scheme"]` introduces it to a reader ("Guideline's grade: Grade 1C").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from osler.ingest import annotations
from osler.ingest.base import BadRecord, ParseResult, check_size, clean_inline, year_of
from osler.ingest.local import html_fragment_text
from osler.models import Audience, Document, EvidenceLevel, ParsedDocument, Section, Skipped

SOURCE = "National Guideline Clearinghouse"
REASON = "National Guideline Clearinghouse guideline summary"

#: The fields that become sections, in order (the heading is the NGC field name).
SECTION_FIELDS = [
    "Major Recommendations",
    "Clinical Algorithm(s)",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "FDA Warning/Regulatory Alert",
    "Disease/Condition(s)",
    "Other Disease/Condition(s) Addressed",
    "Target Population",
    "Intended Users",
    "Guideline Objective(s)",
    "Interventions and Practices Considered",
    "Major Outcomes Considered",
    "Type of Evidence Supporting the Recommendations",
    "Cost Analysis",
]
RATING_FIELDS = SECTION_FIELDS[2:4]

#: A field whose whole text is one of these says nothing.
_PLACEHOLDER = re.compile(
    r"^(none|not)( (provided|available|stated|applicable|specified|reported))?\.?$|^n/?a\.?$",
    re.I,
)

#: The type NGC appends to an organisation's name ("American College of Radiology - Medical
#: Specialty Society").
_ORG_TYPE = re.compile(
    r" - (Medical Specialty Society|Professional Association|National Government Agency"
    r"|State/Local Government Agency|Federal Government Agency|Nonprofit( Research)? Organization"
    r"|Independent Expert Panel|Disease Specific Society|Hospital/Medical Center"
    r"|International Agency|Clinical Specialty Collaboration|Academic Institution"
    r"|For Profit Organization|Government Affiliated Research Institute|Not stated)"
    r"( \[(Non-)?U\.S\.\])?$"
)

#: Grading schemes named in the rating-scheme fields: (short form, how the text names it).
RATING_SCHEMES = [
    ("GRADE", re.compile(r"Grading of Recommendations,? Assessment|\bGRADE\b")),
    ("USPSTF", re.compile(r"U\.S\. Preventive Services Task Force|\bUSPSTF\b")),
    ("SIGN", re.compile(r"Scottish Intercollegiate Guidelines Network|\bSIGN\b")),
    ("Oxford CEBM", re.compile(r"Centre for Evidence[- ]Based Medicine|\bCEBM\b")),
    ("Canadian Task Force", re.compile(r"Canadian Task Force")),
    ("AAN", re.compile(r"American Academy of Neurology|\bAAN\b")),
    ("AUA", re.compile(r"American Urological Association|\bAUA\b")),
    ("ACC/AHA", re.compile(r"\bACC/AHA\b")),
    ("NHMRC", re.compile(r"\bNHMRC\b")),
]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)(?: ([A-Z][a-z]{2,8})(?:-[A-Z][a-z]{2,8})?(?: (\d{1,2}))?)?"
)

# --- text repair ---------------------------------------------------------------------------

#: A UTF-8 byte sequence read as Latin-1 ("Â®" for "®", "â\x80\x93" for "–").
_MOJIBAKE = re.compile(
    "[\u00c2-\u00df][\u0080-\u00bf]|[\u00e0-\u00ef][\u0080-\u00bf]{2}|[\u00f0-\u00f4][\u0080-\u00bf]{3}"
)
_RADIATION_ICON = re.compile(
    r"<img\b[^>]*\balt=\"radioactive(?:2)?(?:\s+symbol\s*(\d)?)?\s*\"[^>]*>", re.I
)
_INVISIBLE = str.maketrans({"\u200b": None, "\u00ad": None, "\ufeff": None, "\u2028": " "})


def _redecode(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("latin-1").decode("utf-8")
    except UnicodeError:
        return match.group(0)


def repair(text: str) -> str:
    """Text with double-decoded UTF-8 sequences decoded once, invisible characters removed."""
    return _MOJIBAKE.sub(_redecode, text).translate(_INVISIBLE)


def field_text(markup: str) -> str:
    """One field's HTML as text (radiation level icons as ☢)."""
    markup = _RADIATION_ICON.sub(lambda m: "☢" * int(m.group(1) or 1), repair(markup))
    return html_fragment_text(re.sub(r"(?<=☢)\s+(?=☢)", "", markup))


# --- grades --------------------------------------------------------------------------------

_ROMAN = r"(?:I|II|III|IV|V)"
#: A grade code that can stand alone in brackets ("(B)", "[1C]", "(III-A)", "(II-2)", "(IIb)").
_BARE_CODE = re.compile(rf"[A-D]|[1-4][A-D]|{_ROMAN}(?:-?[A-C]|-[1-3][A-C]?|[ab])?")
#: A code after a grading word ("Level U", "Grade 1", "LE 2", "BEL 3").
_KEYED_CODE = re.compile(
    rf"[A-DU][1-3]?[+-]?|\d{{1,2}}[a-dA-D]?[+-]?|{_ROMAN}(?:-?[A-C]|-[1-3][A-C]?|[ab])?"
)
#: GRADE's certainty symbols ("++OO", "⊕⊕○○").
_SYMBOLS = re.compile(r"[+⊕]{2,}[O○]*|[+⊕][O○]+")
#: Words that name a grading system's scale and need a code after them ("Level B").
_KEYWORDS = frozenset(
    "grade grades level levels loe le gr bel sor class evidence quality strength certainty".split()
)
#: Words that are a grade by themselves ("Strong", "Expert Opinion", "GPP", "Not Graded").
_LABELS = frozenset(
    "strong strongly weak weakly conditional expert opinion consensus insufficient principle "
    "gpp eo graded practice".split()
)
#: Quality words, a grade with a keyword ("Low Quality Evidence").
_QUALITIES = frozenset("high moderate low".split())
#: Words that may stand in a grade but do not make one.
_FILLER = frozenset(
    "of for against the a an very good point points clinical not based on panel "
    "expertise statement use intervention recommendation recommendations".split()
)
_BRACKET = re.compile(
    r"(?:(?<=\s)|^)(\(([^()\[\]\n]{1,80})\)|\[([^()\[\]\n]{1,80})\])(?=[.;,]?(?:\s|$))"
)
_SEPARATORS = re.compile(r"[\s=:;,/|–—]+")


_RANGE = re.compile(r"([^\s–—;,()]+)\s*[–—]\s*([^\s–—;,()]+)")


def _code(token: str) -> bool:
    return bool(
        _BARE_CODE.fullmatch(token) or _KEYED_CODE.fullmatch(token) or _SYMBOLS.fullmatch(token)
    )


def grade_of(inner: str) -> tuple[str, bool] | None:
    """The grade a bracket's text states, and whether it is only a bare code ("B", "III-A");
    None when the text is anything else ("Recommendation 3", "2016", "A, B, C, D, or I",
    "the strength of the recommendation", "see Table 2")."""
    tokens = [t for t in _SEPARATORS.split(inner.strip()) if t]
    if not tokens or len(tokens) > 10:
        return None
    if any(_code(a) and _code(b) for a, b in _RANGE.findall(inner)):
        return None  # a range of the scale ("A–C", "I–V"), not a grade
    if len({t.lower() for t in tokens} & {"strong", "weak", "conditional"}) > 1:
        return None  # the scale's names ("strong, weak")
    bare = codes = 0
    words: set[str] = set()
    for token in tokens:
        if _BARE_CODE.fullmatch(token):
            bare += 1
        elif _KEYED_CODE.fullmatch(token) or _SYMBOLS.fullmatch(token):
            codes += 1
        else:
            for word in token.lower().split("-"):
                if word not in _KEYWORDS | _LABELS | _QUALITIES | _FILLER:
                    return None
                words.add(word)
    text = " ".join(inner.split())
    keyed = bool(words & _KEYWORDS)
    if (
        (keyed and (bare or codes))
        or words & _LABELS
        or (words & _QUALITIES and words & {"quality", "evidence", "certainty"})
        or (codes and any(_SYMBOLS.fullmatch(t) for t in tokens))
    ):
        return text.replace(", ", "; "), False
    if not words and not codes and bare <= 2:
        return text, True
    if bare == 1 and not codes and words <= {"recommendation"}:  # USPSTF "(B recommendation)"
        return text, False
    return None


#: A grade word right before a bracket makes it a definition ("graded as high (A), moderate
#: (B) or low (C)", "strong [grade 1]"), not a grade.
_SCALE_WORDS = _QUALITIES | _LABELS | frozenset("medium fair poor good very".split())
#: What may follow a grade that closes a statement: punctuation, the line's end, or the next
#: sentence or bracket.
_AFTER_GRADE = re.compile(r"[.;,]|\s*$|\s+[A-Z(\[]")


def _abbreviation(before: str, code: str) -> bool:
    """Whether a code abbreviates the words before it: their initials ("Vital Capacity (VC)")
    or the letters of the last word ("intravenous (IV)")."""
    if len(code) < 2:
        return False
    words = re.findall(r"[A-Za-z]+", before)
    if "".join(w[0] for w in words[-len(code) :]).upper() == code.upper():
        return True
    last = words[-1].lower() if words else ""
    letters = iter(last)
    return last.startswith(code[0].lower()) and all(c in letters for c in code.lower())


def mark_grades(line: str) -> str:
    """A line with an `loe` marker after each bracketed grade that closes a statement."""
    out: list[str] = []
    pos = 0
    for m in _BRACKET.finditer(line):
        inner = m.group(2) or m.group(3)
        found = grade_of(inner)
        if not found or not _AFTER_GRADE.match(line, m.end()):
            continue
        grade, bare = found
        before = line[: m.start()]
        previous = re.findall(r"[A-Za-z]+", before)[-1:]
        if previous and previous[0].lower() in _SCALE_WORDS:
            continue
        if bare and (len(before.split()) < 3 or _abbreviation(before, inner.strip())):
            continue
        end = m.end()
        if end < len(line) and line[end] in ".;,":
            end += 1
        out.append(line[pos:end] + annotations.mark("loe", grade))
        pos = end
    return "".join(out) + line[pos:]


def _only_grades(line: str) -> bool:
    """A line that is nothing but bracketed grades ("(Level of Evidence = V)")."""
    rest = _BRACKET.sub(lambda m: "" if grade_of(m.group(2) or m.group(3)) else m.group(0), line)
    return line.strip().startswith(("(", "[")) and not rest.strip(" .;,")


def recommendations_text(text: str) -> str:
    """Major Recommendations with each grade marked, a grade standing on its own line joined
    to the statement above it."""
    lines: list[str] = []
    for line in text.split("\n"):
        if lines and _only_grades(line):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return "\n".join(mark_grades(line) for line in lines)


# --- metadata ------------------------------------------------------------------------------


def iso_date(value: str) -> str | None:
    """ "2013 Aug" -> "2013-08", "2014 Feb 12" -> "2014-02-12", "2015" -> "2015"."""
    m = _DATE.search(value)
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    number = _MONTHS.get((month or "")[:3].lower())
    if not number:
        return year
    if day and 1 <= int(day) <= 31:
        return f"{year}-{number:02d}-{int(day):02d}"
    return f"{year}-{number:02d}"


def release_date(value: str) -> str | None:
    """The date of the version summarised: the last revision if there is one, else the
    release ("2011 May (revised 2013 Aug)" -> "2013-08"). Reaffirmations and addenda do not
    change the text, so they do not count."""
    revised = re.findall(r"revised ([^;)]+)", value)
    for when in reversed(revised):
        found = iso_date(when)
        if found:
            return found
    return iso_date(value)


def developer_name(value: str) -> str:
    """An organisation without the type NGC appends to it."""
    return _ORG_TYPE.sub("", clean_inline(value)).strip()


def rating_scheme(texts: list[str]) -> str:
    """The grading schemes the rating-scheme fields name ("GRADE", "USPSTF; SIGN"), or ""."""
    joined = "\n".join(texts)
    return "; ".join(name for name, pattern in RATING_SCHEMES if pattern.search(joined))


# --- the record ----------------------------------------------------------------------------


def _fields(root: ET.Element) -> dict[str, list[str]]:
    """Each field's values, by name (a field repeated in another NGC section is read once)."""
    fields: dict[str, list[str]] = {}
    for field in root.iter("Field"):
        name = clean_inline(field.get("Name"))
        if name and name not in fields:
            fields[name] = [v.get("Value") or "" for v in field.iter("FieldValue")]
    return fields


def _text(values: list[str]) -> str:
    return "\n".join(t for t in (field_text(v) for v in values) if t)


def _inline(values: list[str], sep: str = "; ") -> str:
    return sep.join(t for t in (clean_inline(field_text(v)) for v in values) if t)


def record_id(path: str) -> str:
    """The NGC number of a file ("ngc-10000.xml" -> "10000")."""
    stem = Path(path).name.split(".")[0]
    return stem.removeprefix("ngc-").removeprefix("ngc_") or stem


def document(root: ET.Element, path: str) -> ParsedDocument:
    """One guideline summary as a document; BadRecord without a title or recommendations."""
    fields = _fields(root)
    number = record_id(path)
    title = _inline(fields.get("Guideline Title", []), " ")
    if not title:
        raise BadRecord("no Guideline Title")
    sections: list[Section] = []
    for name in SECTION_FIELDS:
        values = fields.get(name) or []
        text = _text(values) if name != "Intended Users" else _inline(values)
        if not text or _PLACEHOLDER.match(text):
            continue
        if name == "Major Recommendations":
            text = recommendations_text(text)
        sections.append(Section(heading=name, text=text))
    if not sections or sections[0].heading != "Major Recommendations":
        raise BadRecord("no Major Recommendations")
    check_size("\n".join(s.text for s in sections))
    developers = [developer_name(field_text(v)) for v in fields.get("Guideline Developer(s)", [])]
    developers = [d for d in dict.fromkeys(developers) if d]
    released = _inline(fields.get("Date Released", []), " ")
    pub_date = release_date(released)
    extra = {
        "dataset": "ngc",
        "developer": "; ".join(developers),
        "released": released,
        "status": _inline(fields.get("Guideline Status", []), " "),
        "citation": _inline(fields.get("Bibliographic Source(s)", []), " | "),
        "specialty": _inline(fields.get("Clinical Specialty", [])),
        "rating_scheme": rating_scheme([s.text for s in sections if s.heading in RATING_FIELDS]),
        # how a reader is told a passage's grade (its `loe`: the bracket's own words)
        "grade_scheme": "Guideline's grade:",
    }
    doc = Document(
        id=f"ngc:{number}",
        title=title.removesuffix(".").strip(),
        source=SOURCE,
        source_type="guideline",
        authors=developers,
        pub_date=pub_date,
        year=year_of(pub_date),
        audience=Audience.PROFESSIONAL,
        evidence_level=EvidenceLevel.GUIDELINE,
        evidence_inferred=False,
        evidence_reason=REASON,
        extra={k: v for k, v in extra.items() if v},
    )
    return ParsedDocument(document=doc, sections=sections)


def parse(fh: BinaryIO, path: str) -> Iterator[ParseResult]:
    """One NGC guideline summary XML file (a syntax error ends it in the pipeline)."""
    root = ET.parse(fh).getroot()
    try:
        yield document(root, path)
    except BadRecord as exc:
        yield Skipped(path=path, record=f"ngc:{record_id(path)}", reason=str(exc))
