"""Answer templates: which sections a question type gets, and the cues that place a sentence.

A sentence goes to the first section of its template whose cue matches it (in template order,
except that `evidence`, which wants figures, is tried first), else to the template's catch-all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


#: What each section kind looks for in a sentence. One place for every template.
CUES: dict[str, re.Pattern[str]] = {
    "evidence": _cue(
        r"\d+(\.\d+)?\s?%|\bp\s?[<=]\s?0?\.\d|hazard ratio|odds ratio|relative risk|\b(HR|OR|RR)\b\s?[=:]?\s?\d|"
        r"confidence interval|\bCI\b|median (overall |progression-free )?survival|response rate|"
        r"\bn\s?=\s?\d+|\b\d{2,} (patients|participants|subjects|women|men|children|adults)|"
        r"sensitivity|specificity|\bNNT\b|compared (with|to) placebo"
    ),
    #: A sentence that states the standard, not one option among others: it leads a clinician's
    #: answer ("cisplatin plus gemcitabine is considered the reference standard ...").
    "standard": _cue(
        r"\b(standard of care|reference standard|standard (first[- ]line )?(treatment|therapy|"
        r"regimen)|treatment of choice|(is|are) (the )?(recommended|preferred)|"
        r"(is|are|was|were) recommended|has become the standard|mainstay of (treatment|therapy))\b"
    ),
    "primary": _cue(
        r"\b(standard|first[- ]line|recommended|mainstay|treatment of choice|main treatment|"
        r"may include|is used to treat|are used to treat|treatment options?|treated with|"
        r"the (main|usual|most common) (way|treatment)|therapy (is|consists)|initial (therapy|treatment))\b"
    ),
    "selection": _cue(
        r"\b(eligible|candidates?|selected patients|criteria|indicated (for|in|when)|suitable|"
        r"only (if|when|for)|in patients (with|who)|who have|for people (with|who)|depends on)\b"
    ),
    "pitfalls": _cue(
        r"\b(should not|must not|do not|don't|avoid|contraindicat\w*|caution|warning|"
        r"not recommended|risk of|serious|harm\w*|toxicit\w*|complications?|overdose)\b"
    ),
    "steps": _cue(
        r"\b(first,|then|followed by|after (surgery|treatment|chemotherapy)|before (surgery|treatment)|step)\b"
    ),
    "other": _cue(
        r"\b(alternative|other (treatments?|options?|types)|may also|new types of treatment|"
        r"being tested|investigational|experimental|palliative|supportive)\b"
    ),
    "prognosis": _cue(
        r"\b(survival|prognos\w*|5-year|five-year|outlook|cured?|recurrences?|recurs?|life expectancy|"
        r"chance of recovery|mortality)\b"
    ),
    "trials": _cue(
        r"\b(clinical trials?|research\w*|being (studied|tested)|investigat\w+ (whether|how|the)|"
        r"(are|is) studying|studies (are|of new))\b"
    ),
    "tests": _cue(
        r"\b(tests?|exam\w*|biops\w+|imaging|scan|ultrasound|MRI|CT\b|x-rays?|blood (test|count)|"
        r"diagnos\w*|screening|detect\w*|measure\w*|assay)\b"
    ),
    "symptoms": _cue(
        r"\b(symptoms?|signs?|pain|fever|fatigue|swelling|bleeding|cough|nausea|may (cause|include))\b"
    ),
    "warning": _cue(
        r"\b(seek (medical|emergency)|emergency|call (your|a) (doctor|health)|right away|immediate(ly)?|urgent\w*|get (medical )?help)\b"
    ),
    "differential": _cue(
        r"\b(other conditions|may be caused by|differential|mimic\w*|similar to)\b"
    ),
    "causes": _cue(r"\b(caus\w+|due to|result(s)? (from|of)|triggered|leads? to|etiolog\w*)\b"),
    "risk": _cue(
        r"\b(risk( factors?)?|more likely|increase[sd]? the (risk|chance)|susceptib\w+|predispos\w+)\b"
    ),
    "genetics": _cue(
        r"\b(genes?|genetic|mutations?|inherit\w*|chromosom\w*|autosomal|variants?)\b"
    ),
    "frequency": _cue(
        r"\b((affects?|affecting|occurs?|occurring) (in )?(about|approximately|an estimated|"
        r"fewer than|more than|less than|\d)|prevalen\w+|incidence|common|rare|\d+ in [\d,]+|"
        r"per \d|in every|estimated to|(cases|individuals|people|families|patients) (have|has) "
        r"been (reported|described|identified))\b"
    ),
    "prevention": _cue(
        r"\b(prevent\w*|reduce (the|your) risk|lower (the|your) risk|vaccin\w*|screening|avoid\w*)\b"
    ),
    "dosage": _cue(
        r"\b(\d+(\.\d+)? ?(mg|mcg|g|ml|units?)\b|dose|dosage|dosing|take|taken|tablet|capsule|daily|once|twice|every \d+ hours)\b"
    ),
    "side_effects": _cue(
        r"\b(side effects?|adverse|may cause|nausea|dizziness|headache|drowsiness|rash|allerg\w*)\b"
    ),
    "interactions": _cue(
        r"\b(interact\w*|together with|combined with|other (medicines|medications|drugs)|alcohol|grapefruit)\b"
    ),
    "definition": _cue(
        r"\b(is an?|are|refers to|is a (type|form|group|condition|disease|disorder)|is defined as|called)\b"
    ),
    "limitations": _cue(
        r"\b(however|limited|small (sample|number)|further (studies|research)|unclear|not (significant|clear)|remain\w*)\b"
    ),
    "findings": _cue(
        r"\b(we found|results? (showed|suggest|indicate)|was associated|were associated|significantly|conclusion|suggest\w*)\b"
    ),
}


@dataclass(frozen=True)
class Template:
    """The sections of one question type: (kind, heading) pairs; `catch_all` takes the rest."""

    sections: tuple[tuple[str, str], ...]
    catch_all: str
    audience_headings: dict[str, str] | None = None
    #: Whether a sentence of figures answers this type on its own (a response rate answers a
    #: treatment question; "53 patients had duodenal atresia" does not say what its symptoms are).
    figures_answer: bool = True


TEMPLATES: dict[str, Template] = {
    "treatment": Template(
        (
            ("primary", "Primary treatment approach"),
            ("evidence", "Evidence"),
            ("selection", "Who qualifies"),
            ("pitfalls", "Pitfalls and contraindications"),
            ("steps", "Step-by-step approach"),
            ("other", "Other options"),
            ("prognosis", "Prognosis"),
            ("trials", "Clinical trials"),
        ),
        catch_all="primary",
    ),
    "diagnosis": Template(
        (
            ("tests", "Key tests"),
            ("evidence", "Evidence"),
            ("selection", "When to test"),
            ("steps", "Step-by-step work-up"),
            ("pitfalls", "Pitfalls"),
        ),
        catch_all="tests",
    ),
    "symptoms": Template(
        (
            ("symptoms", "Common symptoms"),
            ("warning", "When to seek care"),
            ("evidence", "Evidence"),
            ("differential", "Other conditions to consider"),
        ),
        catch_all="symptoms",
        figures_answer=False,
    ),
    "causes": Template(
        (
            ("causes", "Causes"),
            ("risk", "Risk factors"),
            ("genetics", "Genetics"),
            ("evidence", "Evidence"),
        ),
        catch_all="causes",
        figures_answer=False,
    ),
    "frequency": Template(
        (
            ("frequency", "How common it is"),
            ("evidence", "Evidence"),
            ("risk", "Who is affected"),
        ),
        catch_all="frequency",
        figures_answer=False,
    ),
    "prognosis": Template(
        (
            ("prognosis", "Outlook"),
            ("evidence", "Evidence"),
            ("selection", "Factors that affect prognosis"),
        ),
        catch_all="prognosis",
    ),
    "prevention": Template(
        (
            ("prevention", "Prevention"),
            ("evidence", "Evidence"),
            ("selection", "Who should be offered it"),
            ("pitfalls", "Pitfalls"),
        ),
        catch_all="prevention",
    ),
    "drug": Template(
        (
            ("dosage", "Dosage and administration"),
            ("side_effects", "Side effects"),
            ("interactions", "Interactions"),
            ("pitfalls", "Warnings"),
            ("evidence", "Evidence"),
        ),
        catch_all="dosage",
    ),
    "definition": Template(
        (
            ("definition", "What it is"),
            ("evidence", "Key figures"),
            ("causes", "Causes"),
            ("symptoms", "Signs and symptoms"),
            ("primary", "Treatment"),
        ),
        catch_all="definition",
    ),
    "research": Template(
        (
            ("trials", "Research and clinical trials"),
            ("findings", "What studies found"),
            ("evidence", "Evidence"),
        ),
        catch_all="trials",
        figures_answer=False,
    ),
    "yes_no": Template(
        (
            ("findings", "What the evidence shows"),
            ("evidence", "Evidence"),
            ("limitations", "Limitations"),
        ),
        catch_all="findings",
    ),
}

#: Question types that share a template.
TEMPLATE_OF: dict[str, str] = {
    "risk": "causes",
    "genetics": "causes",
    "dosage": "drug",
    "side_effects": "drug",
    "interactions": "drug",
}

#: Title patterns per question type ({} is the focus in title case).
TITLES: dict[str, str] = {
    "treatment": "Treatment of {}",
    "diagnosis": "Diagnosis of {}",
    "symptoms": "Symptoms of {}",
    "causes": "Causes of {}",
    "risk": "Risk Factors for {}",
    "genetics": "Genetics of {}",
    "frequency": "How Common Is {}",
    "prognosis": "Prognosis of {}",
    "prevention": "Prevention of {}",
    "dosage": "Dosing of {}",
    "side_effects": "Side Effects of {}",
    "interactions": "Interactions of {}",
    "definition": "{}: Overview",
    "research": "Research on {}",
}


def template_name(question_type: str) -> str:
    """The name of the template a question type uses ("risk" -> "causes")."""
    return TEMPLATE_OF.get(
        question_type, question_type if question_type in TEMPLATES else "definition"
    )


def template_for(question_type: str) -> Template:
    return TEMPLATES[template_name(question_type)]


def template_for_question(question_type: str) -> Template:
    """The template of a question type, its lead section first and catching what fits no
    section: a side-effects question gets the drug template with "Side effects" before
    "Dosage and administration"."""
    template = template_for(question_type)
    lead = lead_kind(question_type)
    if template.sections[0][0] == lead:
        return template
    first = [s for s in template.sections if s[0] == lead]
    rest = [s for s in template.sections if s[0] != lead]
    return replace(template, sections=tuple(first + rest), catch_all=lead)


def lead_kind(question_type: str) -> str:
    """The section kind whose sentences answer a question type: the first section of its
    template, or, in a shared template, the type's own section ("side_effects" in the drug
    template, whose first section is dosage)."""
    kinds = [kind for kind, _ in template_for(question_type).sections]
    return question_type if question_type in kinds else kinds[0]


def classify(sentence: str, template: Template) -> str:
    """The section kind a sentence belongs to within a template."""
    kinds = [kind for kind, _ in template.sections]
    order = (["evidence"] if "evidence" in kinds else []) + [k for k in kinds if k != "evidence"]
    for kind in order:
        if CUES[kind].search(sentence):
            return kind
    return template.catch_all
