"""The offline composer: an answer made only of verbatim sentences from retrieved passages.

Sentences are cut from the ranked passages, cleaned of navigation boilerplate, scored for how
well they answer the question (hit rank, question words, focus, type cues, evidence level),
de-duplicated, and placed into the question type's template. A lead-in line that ends in ":"
keeps the list items that follow it, as one contiguous span of the passage.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from osler.audience import Profile, profile_for
from osler.compose import templates
from osler.ingest.sentences import sentence_spans
from osler.lists import ITEM_SEPARATOR, is_list, opens_list
from osler.models import AnswerSection, Hit, Query, Statement
from osler.readability import grade
from osler.retrieve.analyse import STOP_WORDS
from osler.retrieve.rank import SECTION_CUES
from osler.text import GENERIC, same_word, stems, tokens

#: Navigation and page furniture that is never a medical statement.
BOILERPLATE = re.compile(
    r"^(key points|check the list of|for more (specific results|information)|this (pdq )?summary|"
    r"this section|see the (pdq|following|summary)|enlarge|information about clinical trials|"
    r"clinical trials are taking place|use (our|the) clinical trial search|refine the search|"
    r"questions to ask|learn more|click|visit|call 1-\d|contact (us|the)|the following (stages|"
    r"sections?) are|new types of treatment are being tested in clinical trials\.?$|"
    r"patients may want to think about taking part in a clinical trial|"
    r"patients can enter clinical trials before, during, or after|"
    r"the human phenotype ontology|"
    r"if the information is available, the table|the frequency of a sign or symptom|"
    r"you can use the medlineplus|these resources address the diagnosis or management|"
    r"what are the signs and symptoms of|talk with your (doctor|health care provider) about clinical trials|"
    r"general information about clinical trials|"
    r"more information (about|on) .{0,100}?(is|are) (provided|available) (in|from|at)|"
    r"the mission of the national institute|"
    # MedlinePlus drug pages: the reporting notice, and the closing line of the side effects
    r"if you experience a serious side effect, you or your doctor may send a report|"
    r"[\w ,()-]{1,60} may cause other side effects\.?$|"
    r".{0,160}?these resources from medlineplus offer information|"
    # GARD's explanation of its symptom-frequency table, and page credit lines
    r"much of this information comes from orphanet|the frequency may also be listed as a fraction|"
    r"the first number of the fraction is|for example, a frequency of \d|"
    r"because these frequencies are based on|sometimes, no information on frequency is available|"
    r"in these cases, the sign or symptom may be rare or common|nih: national|"
    r"centers for disease control and prevention\.?$)",
    re.I,
)
#: Sentences that state an aim or a method, not a finding ("Objective: To compare ...").
NOT_A_FINDING = re.compile(
    r"^((objectives?|aims?|purpose|background|methods?|design|setting)\s*:|"
    r"to (compare|assess|evaluate|determine|investigate|examine|describe)\b|"
    r"(we|this study|the present study|this trial) (aimed|sought|aims|investigated|evaluated|will)|"
    r"the (aims?|objectives?|purpose|goal) of (this|the present|our) (article|study|review|paper|"
    r"trial|work) (is|was|were|are))",
    re.I,
)
MIN_WORDS, MAX_WORDS, MAX_LIST_WORDS = 6, 70, 130
MAX_BULLETS = 8


@dataclass
class Candidate:
    """A sentence (or a lead-in with its list) from one hit, with its score parts."""

    text: str
    hit: Hit
    rank: int
    score: float = 0.0
    kind: str = ""
    words: frozenset[str] = field(default_factory=frozenset)
    #: Flesch-Kincaid grade, computed only for readers with a readability target.
    grade: float | None = None
    #: Share of the question's focus its heading path names (see HEADING_WEIGHT).
    heading_cover: float = 0.0


def token_set(text: str) -> frozenset[str]:
    """The distinct tokens of a text (what the focus checks look in)."""
    return frozenset(tokens(text))


def _units(text: str) -> list[str]:
    """Sentences of a passage; a sentence that opens a list ("... include the following:",
    or with its first item inline) runs with its items to the end of its line and over the
    lines of items ("- ...") that follow, as one contiguous span of the passage."""
    units: list[str] = []
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        line, base = lines[i], starts[i]
        spans = sentence_spans(line)
        next_line = i + 1
        for j, (s, e) in enumerate(spans):
            sentence = line[s:e]
            items_follow = line[spans[j + 1][0] :].startswith("- ") if j + 1 < len(spans) else (
                next_line < len(lines) and lines[next_line].startswith("- ")
            )
            if not (opens_list(sentence) and (items_follow or ": - " in sentence)):
                units.append(sentence)
                continue
            end = base + len(line)
            while next_line < len(lines) and lines[next_line].startswith("- "):
                line_end = starts[next_line] + len(lines[next_line])
                if len(text[base + s : line_end].split()) > MAX_LIST_WORDS:
                    break
                end = line_end
                next_line += 1
            units.append(text[base + s : end])
            i = next_line - 1
            break
        i += 1
    return units


def _shorten_list(text: str, max_items: int = MAX_BULLETS) -> str:
    """A lead-in with its first items, as many as `max_items` and MAX_LIST_WORDS allow, up to
    the first page furniture: an item that is furniture ("New types of treatment are being
    tested"), or furniture after an item's own sentences ("... radiosensitizers. Check the list
    of NCI-supported cancer clinical trials ..."). A prefix of the text, so still verbatim."""
    separators = list(ITEM_SEPARATOR.finditer(text))
    if not separators:
        return text
    cut = separators[0].start()
    words = len(text[:cut].split())
    for k, sep in enumerate(separators[:max_items]):
        start = sep.end()
        end = separators[k + 1].start() if k + 1 < len(separators) else len(text.rstrip())
        item = text[start:end]
        furniture = next(
            (s for s, e in sentence_spans(item) if BOILERPLATE.search(item[s:e].strip())), None
        )
        if furniture is not None:
            end = start + furniture
        words += len(text[start:end].split())
        if end <= start or (k and words > MAX_LIST_WORDS):
            break
        cut = end
        if furniture is not None:
            break
    return text[:cut].rstrip()


def _clean(unit: str, max_items: int = MAX_BULLETS) -> str | None:
    """The unit without a leading bullet, or None when it is boilerplate or a fragment. A long
    inline list keeps its lead-in and first `max_items` items."""
    text = unit[2:] if unit.startswith("- ") else unit
    text = text.strip()
    listed = is_list(text)
    if listed:
        text = _shorten_list(text, max_items)
    n = len(text.split())
    if not text or BOILERPLATE.search(text) or NOT_A_FINDING.search(text) or (not text[0].isupper() and not text[0].isdigit()):
        return None
    if n < MIN_WORDS or n > (MAX_LIST_WORDS if listed else MAX_WORDS):
        return None
    if text.endswith(":") or "?" in text[-2:]:
        return None
    return text


def section_fits(hit: Hit) -> bool:
    """Whether the hit's section heading fits the question type ("Treatment" for a treatment
    question). A neutral section factor (an "Abstract", which says nothing of its content) does
    not count as fitting."""
    return hit.components.get("section", 0.0) >= 1.0


#: Question types whose every on-topic sentence answers them (no type cue needed).
OPEN_TYPES = frozenset({"yes_no", "definition"})
#: Question types about one drug: a drug page answers them only for its own drug (another
#: drug's page naming this one among its interactions says nothing of this one's dosing).
ONE_DRUG_TYPES = frozenset({"dosage", "side_effects"})
#: Composer bonus for a sentence whose heading path names the question's focus ("Treatment of
#: Unresectable, Metastatic ... Gallbladder Cancer" for metastatic gallbladder cancer): the
#: section written about what was asked before a section that mentions it in passing.
HEADING_WEIGHT = 0.15
#: Share of the question's specific focus words a sentence (with its title) must contain.
FOCUS_COVER = 2 / 3


#: Single letters that are not names of anything (articles, a possessive's "s").
_NOT_LETTER_NAMES = frozenset("a i s".split())


def specific_focus(query: Query) -> list[str]:
    """Focus words that name the topic (not "disease", "cancer", "adult" ...), as tokens: a
    hyphenated name gives its parts, and single letters that tell conditions apart ("protein C
    deficiency", "hepatitis B") are kept."""
    # A question whose topic is all type words ("information about clinical trials") is
    # about those words.
    named = query.focus_terms or query.terms
    terms = list(dict.fromkeys(t for term in named for t in tokens(term)))
    specific = [
        t for t in terms if t not in GENERIC and (len(t) > 1 or t.isdigit() or t not in _NOT_LETTER_NAMES)
    ]
    return specific or terms


def key_terms(
    specific: list[str],
    rarity: Mapping[str, int] | None = None,
    named: Collection[str] | None = None,
) -> list[str]:
    """Focus words that must all be present: numbers, codes with digits and short codes ("12",
    "1q21", "MYH7", "FG", "II", "C"), which tell sibling conditions apart, the longest (usually
    the most specific) word and, given how many document titles hold each word (`rarity`), the
    rarest word ("cortisone" in "cortisone reductase deficiency").

    With `named` (the words of the topic the corpus knows the question by), the short codes, the
    longest and the rarest are taken among the focus words that name it: the rest qualify the
    question ("feel like", "in a nutshell", "meds", "tx", "vs") and guide the ranking, but a
    sentence need not repeat them. Numbers and roman numerals ("stage III", "type 2") are keys
    wherever they stand."""
    keys = [t for t in specific if _numbered(t) or (len(t) <= 3 and (not named or t in named))]
    among = [t for t in specific if t in named] if named else []
    among = among or specific
    longest = max(among, key=len, default="")
    if longest and longest not in keys:
        keys.append(longest)
    if rarity is not None and among:
        rarest = min(among, key=lambda t: (rarity.get(t, 0), -len(t)))
        if rarest not in keys:
            keys.append(rarest)
    return keys


_ROMAN = re.compile(r"^(i{1,3}|iv|v|vi{1,3}|ix|x)[a-c]?$")


def _numbered(token: str) -> bool:
    """A number, a code with digits ("1q21", "myh7") or a roman numeral ("iii", "iva")."""
    return any(c.isdigit() for c in token) or bool(_ROMAN.match(token))


def focus_covered(
    specific: list[str], seen: frozenset[str] | set[str], keys: list[str] | None = None
) -> bool:
    """Enough of the focus words (crude stems), and every key word (the word itself, give or
    take an ending; by default `key_terms(specific)`), among the tokens `seen`."""
    if not specific:
        return True
    share = sum(_matched(t.lower(), seen) for t in specific) / len(specific)
    if share < FOCUS_COVER - 1e-9:
        return False
    return all(
        k in seen or any(same_word(k, t) for t in seen if t[:3] == k[:3])
        for k in (k.lower() for k in (key_terms(specific) if keys is None else keys))
    )


def _matched(word: str, seen: frozenset[str] | set[str]) -> bool:
    """A crude stem of the word (first 6 letters), or the word give or take a plural, is seen."""
    return any(t[:6] == word[:6] or (t[:3] == word[:3] and same_word(word, t)) for t in seen)


#: Words that name no kind of anything: a title adding only these is not narrower.
EMPTY_HEADS = frozenset(
    "disease diseases disorder disorders syndrome syndromes condition conditions problem "
    "problems type types".split()
)


def _extra_words(
    question: frozenset[str], title: frozenset[str], ignore: frozenset[str] = GENERIC
) -> list[str]:
    """Words of a page title that name something the question does not (not stop words or
    the `ignore`d general words such as "disease" or "type")."""
    return [t for t in title if t not in STOP_WORDS and t not in ignore and not _matched(t, question)]


def broader_page(
    specific: list[str], question: frozenset[str], title: frozenset[str], keys: list[str] | None
) -> bool:
    """Whether a page is about a broader topic that contains the question's: its title names
    nothing the question does not, and holds the key focus words ("Gallbladder Cancer" for
    "liver metastases from gallbladder cancer"). Its sentences must still name the focus."""
    keys = key_terms(specific) if keys is None else keys
    named = any(t not in STOP_WORDS and t not in GENERIC for t in title)
    return named and not _extra_words(question, title) and focus_covered(keys, title, keys)


def names_another_topic(specific: list[str], question: frozenset[str], title: frozenset[str]) -> bool:
    """Whether a page title names a sibling topic rather than the question's: it lacks a
    specific focus word of the question and adds a distinguishing word the question does not
    have ("... autosomal recessive type" for "... autosomal dominant", "11-beta-hydroxylase
    deficiency" for "dopamine beta-hydroxylase deficiency"). A broader or narrower title (one
    side's words all in the other) is not a sibling, except an "X-like" condition, which is
    another condition that resembles X ("Pitt-Hopkins-like syndrome" for "Pitt-Hopkins
    syndrome")."""
    extra = _extra_words(question, title)
    if RESEMBLES in extra:
        return True
    missing = [t for t in specific if not _matched(t, title)]
    return bool(missing) and bool(extra)


#: The word that makes "X-like syndrome" a condition of its own.
RESEMBLES = "like"


#: The verb after a definition's subject ("X is a ...", "X are ...", "X refers to ...").
_COPULA = re.compile(
    r"\b(is|are|was|were|refers? to|describes?|means|represents?|consists? of|includes?)\b", re.I
)
#: Words a definition's subject may have beyond the focus (an abbreviation, an article ...).
DEFINITION_EXTRA_WORDS = 5


#: A sentence that opens with a pronoun ("However, it is caused by ...", "They ..."), after an
#: optional connective: it is about the subject of the sentence before it.
_ANAPHOR = re.compile(
    r"^(?:(?:however|but|also|instead|in contrast|in addition|still|yet|unlike [\w-]+),?\s+)?"
    r"(it|they|this|these)\b(?!\s+(?:is|are)\s+(?:important|possible|common|rare|likely|unclear))",
    re.I,
)


def refers_elsewhere(text: str, before: str, focus: frozenset[str]) -> bool:
    """The sentence opens with a pronoun and does not name the focus, and the sentence before it
    opens with another name ("Pseudogout has similar symptoms ... However, it is caused by
    calcium phosphate"): it speaks of that other thing, not of the focus."""
    if not before or not focus or not _ANAPHOR.match(text) or stems(text) & focus:
        return False
    first = tokens(before)[:1]
    if not first or first[0] in STOP_WORDS or first[0] in GENERIC:
        return False  # "You can treat gout ...", "The disease ...": no other name leads
    return first[0][:6] not in focus


def defines(text: str, focus: list[str]) -> bool:
    """Whether a sentence defines the focus: every focus word is in the subject of its first
    verb of being ("Abdominal aortic aneurysms (AAAs) are aneurysms that ..."), and the
    subject is little more than the focus; not a sentence naming it in passing."""
    verb = _COPULA.search(text)
    if verb is None:
        return False
    subject = token_set(text[: verb.start()])
    longest = len(focus) + DEFINITION_EXTRA_WORDS
    return len(text[: verb.start()].split()) <= longest and all(_matched(t, subject) for t in focus)


def candidates(
    query: Query,
    hits: list[Hit],
    reader: str | Profile,
    keys: list[str] | None = None,
    aliases: Mapping[str, frozenset[str]] | None = None,
) -> list[Candidate]:
    """Every usable sentence of the hits, scored for the reader's profile.

    Unless the question is open (a definition, yes/no), a sentence must answer its type: it
    comes from a section that fits the type, or matches the template's lead cue ("treated
    with"), or names the type itself ("therapy", "surgery") without being page furniture that
    fits no section. A symptom that "may also" occur is no answer to a treatment question.

    A profile with a readability target (patients) takes points off sentences above its
    Flesch-Kincaid grade target, so plain sentences win among those that answer the question.
    """
    profile = profile_for(reader)
    q = stems(" ".join(query.terms))
    question_tokens = token_set(query.question)
    specific = specific_focus(query)
    # The focus as a definition's subject must name it: general words count here ("tracheal
    # disorders" is not defined by "Tracheal agenesis is ...").
    focus_words = [t for term in query.focus_terms or query.terms for t in tokens(term)] or specific
    focus = stems(" ".join(specific))
    top = max((h.score for h in hits), default=1.0) or 1.0
    template = templates.template_for_question(query.question_type)
    lead_cue = templates.CUES[templates.lead_kind(query.question_type)]
    #: The words of the question type itself ("treat", "therapy", "surgery" for treatment).
    type_cue = SECTION_CUES.get(query.question_type)
    open_type = query.question_type in OPEN_TYPES
    page_keys = key_terms(specific) if keys is None else keys
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        title = stems(hit.title)
        title_tokens = token_set(hit.title)
        heading_tokens = token_set(hit.section)
        # the page's other names (MedQuAD focus synonyms: "low blood sugar" for Hypoglycemia)
        alias_tokens = (aliases or {}).get(hit.document_id, frozenset())
        heading_cover = len(focus & stems(hit.section)) / len(focus) if focus else 0.0
        topic_page = hit.source_type == "consumer-health" or (
            hit.source_type == "drug-information" and query.question_type in ONE_DRUG_TYPES
        )
        if topic_page and (
            not (
                focus_covered(specific, title_tokens | alias_tokens, page_keys)
                or broader_page(specific, question_tokens, title_tokens, page_keys)
            )
            or names_another_topic(specific, question_tokens, title_tokens)
        ):
            continue  # a page about another condition that merely names this one
        # On a broader page ("Gallbladder Cancer" for "liver metastases from gallbladder
        # cancer") a sentence must also name the most specific focus word the title lacks.
        named = title_tokens | alias_tokens
        missing = [t for t in specific if not _matched(t, named)] if topic_page else []
        sentence_keys = [*page_keys, max(missing, key=len)] if missing else page_keys
        # A definition comes from a page about the focus (not a narrower one), or is a
        # sentence defining it: an abstract or a page on one kind of the focus does not say
        # what the focus is.
        # ... unless no cue asked for a definition: "adjuvant chemo for resected stage III colon
        # cancer" asks about its topic, it does not ask what the topic is
        must_define = (
            query.question_type == "definition"
            and not (query.defaulted and query.qualifiers)
            and (
                not topic_page
                or bool(_extra_words(question_tokens, title_tokens, EMPTY_HEADS))
                or bool(missing)  # a broader page ("Hair Problems" for "hair loss")
            )
        )
        previous = ""
        for unit in _units(hit.text):
            text = _clean(unit, profile.list_items or MAX_BULLETS)
            said_before, previous = previous, unit
            if text is None:
                continue
            words = stems(text)
            # the heading path is the sentence's context ("Treatment of Metastatic Gallbladder
            # Cancer › Systemic therapy"), as the title is
            seen = token_set(text) | named | heading_tokens
            if is_list(text):  # "Treatment may include the following: - ..." continues the
                seen |= token_set(said_before)  # sentence before it, which names the topic
            overlap = len(q & words) / len(q) if q else 0.0
            focus_cover = len(focus & (words | title)) / len(focus) if focus else 1.0
            if not focus_covered(specific, seen, sentence_keys):
                continue
            if refers_elsewhere(text, said_before, focus):
                continue
            if must_define and not defines(text, focus_words):
                continue
            kind = templates.classify(text, template)
            on_type = bool(lead_cue.search(text)) or section_fits(hit)
            off_type = kind == template.catch_all or (
                kind == "evidence" and not template.figures_answer
            )
            names_type = type_cue is not None and bool(type_cue.search(text))
            if not open_type and not on_type and (off_type or not names_type):
                # says nothing of what was asked: anatomy, or a symptom that "may also" occur,
                # under a treatment question
                continue
            score = (
                HEADING_WEIGHT * heading_cover
                + 0.30 * (hit.score / top)
                + 0.20 * overlap
                + 0.15 * focus_cover
                + 0.15 * bool(lead_cue.search(text))
                + 0.10 * hit.components.get("section", 0.0)
                + 0.10 * profile.evidence(hit.evidence_level)
                + profile.source_weight * profile.audience_fit(hit.audience)
            )
            level = grade(text) if profile.readability_target is not None else None
            if level is not None:
                score -= profile.readability_penalty(level)
            out.append(Candidate(text, hit, rank, score, kind, words, level, heading_cover))
    return out


def _plain_enough(chosen: list[Candidate], c: Candidate, profile: Profile) -> bool:
    """Whether adding `c` keeps the answer's Flesch-Kincaid grade within the profile's bounds."""
    ceiling, limit = profile.readability_ceiling, profile.readability_limit
    if ceiling is None:
        return True
    if limit is not None and c.grade is not None and c.grade > limit:
        return False
    level = grade(" ".join(o.text for o in [*chosen, c]))
    bound = ceiling if len(chosen) >= profile.min_statements else (limit or ceiling)
    return level <= bound


#: Content words a bottom line must add to the question's own.
MIN_NEW_WORDS = 3


def informative(text: str, asked: frozenset[str]) -> bool:
    """Whether a sentence adds at least MIN_NEW_WORDS content words to those of the question."""
    new = {t for t in tokens(text) if t not in STOP_WORDS and t not in GENERIC and len(t) > 2}
    return len({t for t in new if not _matched(t, asked)}) >= MIN_NEW_WORDS


def _similar(a: Candidate, b: Candidate) -> bool:
    if a.text in b.text or b.text in a.text:
        return True
    union = a.words | b.words
    return bool(union) and len(a.words & b.words) / len(union) >= 0.6


def select(
    cands: list[Candidate], *, limit: int, per_section: int = 4, profile: Profile | None = None
) -> list[Candidate]:
    """The best candidates, near-duplicates dropped, at most `per_section` of each kind.

    With a profile that has a grade ceiling (patients), a candidate is passed over when its own
    Flesch-Kincaid grade is above the profile's limit, or when it would lift the answer's grade
    above the ceiling once the answer holds `min_statements` (above the limit before that).
    When no candidate passes, the plainest of the best ones is the answer: readability never
    empties it.
    """
    chosen: list[Candidate] = []
    per_kind: dict[str, int] = {}
    for c in sorted(cands, key=lambda c: -c.score):
        if per_kind.get(c.kind, 0) >= per_section or any(_similar(c, o) for o in chosen):
            continue
        if profile is not None and not _plain_enough(chosen, c, profile):
            continue
        chosen.append(c)
        per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
        if len(chosen) >= limit:
            break
    if not chosen and cands:  # nothing plain enough: one candidate alone
        chosen = [_plainest_of_the_best(cands, profile)]
    return chosen


def _plainest_of_the_best(cands: list[Candidate], profile: Profile | None) -> Candidate:
    """The best candidate; for a reader with a readability target, the plainest of those
    scoring within `profile.fallback_margin` of the best."""
    best = max(cands, key=lambda c: c.score)
    if profile is None or profile.readability_target is None:
        return best
    close = [c for c in cands if c.score >= best.score - profile.fallback_margin]
    return min(close, key=lambda c: (c.grade if c.grade is not None else 0.0, -c.score))


def _less_specific(c: Candidate, lead: Candidate) -> bool:
    """Whether a candidate comes from a section of the lead's document whose heading names less
    of the question's focus than the lead's does."""
    return c.hit.document_id == lead.hit.document_id and c.heading_cover < lead.heading_cover - 1e-9


@dataclass
class Draft:
    """What the composer hands back: the bottom line, sections, and the hits they cite."""

    bottom_line: Statement
    sections: list[AnswerSection]
    cited: list[Hit]


def compose(
    query: Query,
    hits: list[Hit],
    reader: str | Profile,
    *,
    limit: int = 10,
    urgent: bool = False,
    keys: list[str] | None = None,
    aliases: Mapping[str, frozenset[str]] | None = None,
) -> Draft | None:
    """Build the answer from the hits; None when no sentence answers the question.

    `urgent` (an emergency described) puts a when-to-seek-care sentence first if there is one.
    The reader's profile scores the sentences and names the sections.
    """
    profile = profile_for(reader)
    cands = candidates(query, hits, profile, keys, aliases)
    chosen = select(cands, limit=limit + 1, profile=profile)
    if not chosen:
        return None
    template = templates.template_for_question(query.question_type)
    lead_kind = templates.lead_kind(query.question_type)
    best = (
        [c for c in chosen[:6] if c.kind == lead_kind and section_fits(c.hit)]
        or [c for c in chosen[:5] if c.kind == lead_kind]
        or chosen[:1]
    )
    if urgent:
        best = [c for c in chosen if templates.CUES["warning"].search(c.text)] or best
    else:  # a bottom line says something beyond the question ("X may cause other side effects" does not)
        asked = token_set(query.question)
        best = [c for c in best if informative(c.text, asked)] or best
    # the section written about what was asked leads ("Treatment of Unresectable, Metastatic
    # ... Gallbladder Cancer" for liver metastases), then the best-scoring sentence
    bottom = max(
        best,
        key=lambda c: (
            round(c.heading_cover, 1),
            bool(templates.CUES["standard"].search(c.text)),  # the standard, not an option
            c.score + 0.1 * profile.evidence(c.hit.evidence_level),
        ),
    )
    if bottom.heading_cover > 0:
        # the rest of the answer keeps to the bottom line's section of its document: not the
        # localized-disease section of a guideline asked about metastatic disease
        kept = [c for c in cands if not _less_specific(c, bottom)]
        chosen = select(kept, limit=limit + 1, profile=profile)
        if bottom not in chosen:
            chosen = [bottom, *chosen[:limit]]
    cited: list[Hit] = []

    def cite(c: Candidate) -> Statement:
        if c.hit not in cited:
            cited.append(c.hit)
        return Statement(text=c.text, citations=[cited.index(c.hit) + 1])

    bottom_line = cite(bottom)
    sections = []
    headings = {kind: profile.heading(kind, heading) for kind, heading in template.sections}
    for kind, _ in template.sections:
        items = [c for c in chosen if c.kind == kind and c is not bottom]
        items.sort(key=lambda c: (c.hit.evidence_level.rank, -c.score))
        if items:
            sections.append(
                AnswerSection(heading=headings[kind], kind=kind, items=[cite(c) for c in items])
            )
    return Draft(bottom_line, sections, cited)
