"""Editorial workflow: rules for every role and transition, versions, audit, serving, staleness."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cli_env, copy_data_dir, open_osler

from osler.ingest.pipeline import ingest
from osler.models import Answer, Article, ArticleStatus, EvidenceLevel, IngestSummary, Role, User
from osler.review import articles, auth, rules, staleness
from osler.review.export import export
from osler.service import Osler
from osler.settings import EditorialSettings, load
from osler.store import ReviewStore, StaleRevision, open_store, open_stores, review_store

QUESTION = "What are the treatments for gallbladder cancer?"
S = ArticleStatus


@pytest.fixture(scope="module")
def corpus_copy(
    base_corpus: tuple[Path, IngestSummary], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A private copy of the full corpus: these tests write articles and change documents."""
    target = tmp_path_factory.mktemp("review") / "data"
    copy_data_dir(base_corpus[0], target)
    return target


@pytest.fixture(scope="module")
def asker(corpus_copy: Path) -> Iterator[Osler]:
    with open_osler(corpus_copy) as osler:
        yield osler


@pytest.fixture(scope="module")
def answer(asker: Osler) -> Answer:
    return asker.fresh_answer(QUESTION)


@pytest.fixture(params=["sqlite", "postgresql"])
def reviews(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReviewStore]:
    """An empty editorial store of each backend (the tests that read SQLite's tables name
    only "sqlite"); the corpus the answers cite is the module's SQLite copy either way."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        stores = open_stores(server.new_database())
        yield stores.reviews
        stores.close()
        server.drop_created()
        return
    store = open_store(tmp_path / "data")
    yield review_store(store)
    store.close()


#: For tests that read SQLite's own tables through `reviews.db`.
sqlite_only = pytest.mark.parametrize("reviews", ["sqlite"], indirect=True)


@pytest.fixture
def team(reviews: ReviewStore) -> dict[str, User]:
    people = {
        "reader": [Role.READER],
        "editor": [Role.EDITOR],
        "editor2": [Role.EDITOR],
        "reviewer": [Role.REVIEWER],
        "reviewer2": [Role.REVIEWER],
        "admin": [Role.ADMIN],
        "admin_reviewer": [Role.ADMIN, Role.REVIEWER],
        "editor_reviewer": [Role.EDITOR, Role.REVIEWER],
    }
    return {name: reviews.add_user(name, roles, "MD") for name, roles in people.items()}


def _at(reviews: ReviewStore, answer: Answer, team: dict[str, User], status: S) -> Article:
    """An article brought to `status` by the legitimate path."""
    a = articles.create(reviews, answer, team["editor"])
    steps = {
        S.DRAFT: [],
        S.SUBMITTED: [("submit", "editor")],
        S.UNDER_REVIEW: [("submit", "editor"), ("start", "reviewer")],
        S.APPROVED: [("submit", "editor"), ("start", "reviewer"), ("approve", "reviewer")],
        S.CHANGES_REQUESTED: [("submit", "editor"), ("request_changes", "reviewer")],
        S.ARCHIVED: [("archive", "editor")],
    }[status]
    for action, who in steps:
        a = articles.transition(reviews, a.id, action, team[who], a.revision)
    assert a.status is status
    return a


# Every (action, role) pair: allowed roles move the article, all others get Denied.
ALLOWED = {
    "submit": {"editor", "editor2", "editor_reviewer"},
    "start": {"reviewer", "reviewer2", "admin_reviewer", "editor_reviewer"},
    "approve": {"reviewer", "reviewer2", "admin_reviewer", "editor_reviewer"},
    "request_changes": {"reviewer", "reviewer2", "admin_reviewer", "editor_reviewer"},
    "archive": {"editor", "editor2", "admin", "admin_reviewer", "editor_reviewer"},
}
START = {
    "submit": S.DRAFT,
    "start": S.SUBMITTED,
    "approve": S.UNDER_REVIEW,
    "request_changes": S.UNDER_REVIEW,
    "archive": S.APPROVED,
}
TARGET = {
    "submit": S.SUBMITTED,
    "start": S.UNDER_REVIEW,
    "approve": S.APPROVED,
    "request_changes": S.CHANGES_REQUESTED,
    "archive": S.ARCHIVED,
}
PEOPLE = ["reader", "editor", "reviewer", "admin", "admin_reviewer", "editor_reviewer"]


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("who", PEOPLE)
def test_every_transition_is_authorized_by_role(
    reviews: ReviewStore, team: dict[str, User], answer: Answer, action: str, who: str
) -> None:
    a = _at(reviews, answer, team, START[action])
    if who in ALLOWED[action]:
        after = articles.transition(reviews, a.id, action, team[who], a.revision, "ok")
        assert after.status is TARGET[action]
        assert reviews.audit(a.id)[-1].action == action
    else:
        with pytest.raises(rules.Denied, match="needs the"):
            articles.transition(reviews, a.id, action, team[who], a.revision)
        assert reviews.article(a.id).status is START[action]  # type: ignore[union-attr]


def test_anonymous_and_readers_cannot_create_or_edit(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    with pytest.raises(rules.Denied):
        articles.create(reviews, answer, team["reader"])
    a = _at(reviews, answer, team, S.DRAFT)
    for user in (team["reader"], team["reviewer"], team["admin"]):
        with pytest.raises(rules.Denied):
            articles.edit(reviews, a.id, answer, user, a.revision)
    with pytest.raises(rules.Denied, match="sign in"):
        articles.transition(reviews, a.id, "submit", None, a.revision)


def test_transitions_from_the_wrong_status_conflict(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = _at(reviews, answer, team, S.DRAFT)
    for action in ("start", "approve", "request_changes"):
        with pytest.raises(rules.NotAllowedNow, match="draft"):
            articles.transition(reviews, a.id, action, team["reviewer"], a.revision)
    archived = _at(reviews, answer, team, S.ARCHIVED)
    with pytest.raises(rules.NotAllowedNow, match="archived"):
        articles.edit(reviews, archived.id, answer, team["editor"], archived.revision)
    with pytest.raises(rules.NotAllowedNow, match="unknown action"):
        articles.transition(reviews, a.id, "publish", team["editor"], a.revision)


def test_nobody_approves_a_version_they_edited(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = articles.create(reviews, answer, team["editor_reviewer"])
    a = articles.transition(reviews, a.id, "submit", team["editor_reviewer"], a.revision)
    a = articles.transition(reviews, a.id, "start", team["editor_reviewer"], a.revision)
    with pytest.raises(rules.Denied, match="edited this version"):
        articles.transition(reviews, a.id, "approve", team["editor_reviewer"], a.revision)
    a = articles.transition(reviews, a.id, "approve", team["reviewer"], a.revision)
    assert a.status is S.APPROVED and a.approved_version == 1


def test_required_approvals_come_from_distinct_reviewers(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    two = EditorialSettings(required_approvals=2)
    a = _at(reviews, answer, team, S.UNDER_REVIEW)
    a = articles.transition(reviews, a.id, "approve", team["reviewer"], a.revision, settings=two)
    assert a.status is S.UNDER_REVIEW and a.approved_version is None
    with pytest.raises(rules.NotAllowedNow, match="already approved"):
        articles.transition(reviews, a.id, "approve", team["reviewer"], a.revision, settings=two)
    a = articles.transition(reviews, a.id, "approve", team["reviewer2"], a.revision, settings=two)
    assert a.status is S.APPROVED
    assert [u.name for u in reviews.approvers(a.id, 1)] == ["reviewer", "reviewer2"]


def test_edit_of_an_approved_article_is_a_new_version_while_the_approved_one_is_served(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = _at(reviews, answer, team, S.APPROVED)
    trimmed = answer.model_copy(update={"sections": answer.sections[:1]})
    a = articles.edit(reviews, a.id, trimmed, team["editor2"], a.revision, "shorter")
    assert (a.status, a.latest_version, a.approved_version) == (S.DRAFT, 2, 1)
    v2 = reviews.version(a.id, 2)
    assert v2 is not None and v2.author == "editor2" and v2.comment == "shorter"
    assert v2.diff.startswith("--- previous") and "\n-" in v2.diff
    served = articles.served(reviews, QUESTION, "clinician", EditorialSettings())
    assert served is not None and served.status == "approved"
    assert len(served.sections) == len(answer.sections)  # version 1, not the draft
    assert served.reviewed_by == ["reviewer, MD"]


def test_changes_requested_goes_back_to_submitted_after_an_edit(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = _at(reviews, answer, team, S.CHANGES_REQUESTED)
    with pytest.raises(rules.NotAllowedNow):
        articles.transition(reviews, a.id, "submit", team["editor"], a.revision)
    a = articles.edit(reviews, a.id, answer, team["editor"], a.revision, "fixed")
    assert a.status is S.SUBMITTED and a.latest_version == 2


def test_edits_must_keep_every_statement_cited_and_supported(
    reviews: ReviewStore, team: dict[str, User], answer: Answer, asker: Osler
) -> None:
    a = _at(reviews, answer, team, S.DRAFT)
    uncited = answer.model_copy(
        update={"bottom_line": answer.bottom_line.model_copy(update={"citations": []})}
    )
    with pytest.raises(ValueError, match="without a citation"):
        articles.edit(reviews, a.id, uncited, team["editor"], a.revision)
    dangling = answer.model_copy(
        update={"bottom_line": answer.bottom_line.model_copy(update={"citations": [999]})}
    )
    with pytest.raises(ValueError, match="no reference"):
        articles.edit(reviews, a.id, dangling, team["editor"], a.revision)
    # an editor's sentence must be supported by the passage it cites, like a model's
    other = asker.ask("What are the symptoms of asthma?")
    swapped = answer.model_copy(
        update={"bottom_line": answer.bottom_line.model_copy(update={"text": other.bottom_line.text})}
    )
    with pytest.raises(ValueError, match="not supported by what it cites"):
        articles.edit(reviews, a.id, swapped, team["editor"], a.revision)
    # and a reference must quote its document as stored
    first = answer.references[0]
    tampered = answer.model_copy(
        update={"references": [first.model_copy(update={"quote": first.quote + " Always."}),
                               *answer.references[1:]]}
    )
    with pytest.raises(ValueError, match="does not quote"):
        articles.edit(reviews, a.id, tampered, team["editor"], a.revision, documents=asker.searcher.store)
    assert reviews.article(a.id).latest_version == 1  # type: ignore[union-attr]
    ok = articles.edit(reviews, a.id, answer, team["editor"], a.revision, documents=asker.searcher.store)
    assert ok.latest_version == 2


def test_stale_revision_is_refused(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = _at(reviews, answer, team, S.SUBMITTED)
    articles.transition(reviews, a.id, "start", team["reviewer"], a.revision)
    with pytest.raises(StaleRevision, match="changed by someone else"):
        articles.transition(reviews, a.id, "request_changes", team["reviewer2"], a.revision)


@sqlite_only
def test_audit_log_and_versions_are_append_only(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    a = _at(reviews, answer, team, S.APPROVED)
    log = reviews.audit(a.id)
    assert [e.action for e in log] == ["create", "submit", "start", "approve"]
    assert (log[-1].actor, log[-1].from_status, log[-1].to_status) == (
        "reviewer",
        "under_review",
        "approved",
    )
    for sql in (
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "UPDATE article_versions SET answer = '{}'",
        "DELETE FROM article_versions",
        "DELETE FROM approvals",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            reviews.db.execute(sql)
    assert len(reviews.audit(a.id)) == 4


@sqlite_only
def test_passwords_tokens_and_sessions_are_hashed_at_rest(
    reviews: ReviewStore, team: dict[str, User]
) -> None:
    reviews.update_user("editor", password_hash=auth.hash_password("correct horse"))
    assert auth.login(reviews, "editor", "correct horse") is not None
    assert auth.login(reviews, "editor", "wrong horse!") is None
    assert auth.login(reviews, "nobody", "correct horse") is None
    stored = reviews.db.execute("SELECT password_hash FROM users WHERE name='editor'").fetchone()[0]
    assert stored.startswith("$argon2") and "correct horse" not in stored
    token = auth.new_token(reviews, team["editor"])
    assert auth.user_for_token(reviews, token).name == "editor"  # type: ignore[union-attr]
    assert auth.user_for_token(reviews, token + "x") is None
    kept = [r[0] for r in reviews.db.execute("SELECT token_hash FROM api_tokens")]
    assert token not in kept and auth.digest(token) in kept
    sid = auth.new_session(reviews, team["editor"])
    user, csrf = auth.session_user(reviews, sid)  # type: ignore[misc]
    assert user.name == "editor" and len(csrf) > 20
    reviews.update_user("editor", active=False)
    assert auth.user_for_token(reviews, token) is None
    assert auth.session_user(reviews, sid) is None
    with pytest.raises(ValueError):
        auth.hash_password("short")


def test_similar_questions_are_served_only_for_the_same_type_and_audience(
    reviews: ReviewStore, team: dict[str, User], answer: Answer
) -> None:
    _at(reviews, answer, team, S.APPROVED)
    settings = EditorialSettings()
    assert articles.served(reviews, "what is the treatment of gallbladder cancer", "clinician", settings)
    assert articles.served(reviews, QUESTION, "patient", settings) is None
    assert articles.served(reviews, "What are the symptoms of gallbladder cancer?", "clinician", settings) is None
    assert articles.served(reviews, "What are the treatments for bladder cancer?", "clinician", settings) is None


def test_ask_serves_approved_articles_and_saves_new_answers_as_drafts(
    reviews: ReviewStore, team: dict[str, User], answer: Answer, asker: Osler
) -> None:
    # the service over the module's corpus, with this test's editorial record
    osler = Osler(load(), asker.store, reviews, asker.searcher)
    fresh = osler.ask(QUESTION)
    assert fresh.status == "pending_review" and fresh.article_id
    draft = reviews.article(fresh.article_id)
    assert draft is not None and draft.status is S.DRAFT and draft.created_by == "osler"
    again = osler.ask(QUESTION)
    assert again.article_id == fresh.article_id  # no second draft for the same question
    a = articles.transition(reviews, draft.id, "submit", team["editor"], draft.revision)
    a = articles.transition(reviews, a.id, "start", team["reviewer"], a.revision)
    in_review = osler.ask(QUESTION)
    assert in_review.status == "under_review" and in_review.article_id == draft.id
    articles.transition(reviews, a.id, "approve", team["reviewer"], a.revision)
    served = osler.ask(QUESTION.lower())
    assert served.status == "approved" and served.article_id == draft.id
    assert served.last_updated and served.reviewed_by == ["reviewer, MD"]
    assert served.question == QUESTION.lower()
    assert osler.ask(QUESTION, serve_approved=False).status == "pending_review"
    off = osler.ask("How is gallbladder cancer diagnosed?", save_draft=False)
    assert off.article_id is None and off.status == "pending_review"


def test_export_markdown_and_json(reviews: ReviewStore, team: dict[str, User], answer: Answer) -> None:
    a = _at(reviews, answer, team, S.APPROVED)
    v = reviews.version(a.id, 1)
    assert v is not None
    md = export(a, v, reviews.approvers(a.id, 1), "markdown")
    assert "Status: approved" in md and "Reviewed by reviewer, MD" in md and answer.title in md
    data = json.loads(export(a, v, [], "json"))
    assert data["article"]["status"] == "approved"
    assert data["answer"]["references"][0]["quote"] == answer.references[0].quote


def test_staleness_flags_stronger_evidence_and_removed_sources(
    base_corpus: tuple[Path, IngestSummary], answer: Answer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    copy_data_dir(base_corpus[0], data)

    def check() -> list[staleness.Flag]:
        with Osler.open(data_dir=data) as fresh:  # a new ingest is seen by a newly opened one
            return fresh.check_articles()

    store = open_store(data)
    reviews = review_store(store)
    editor = reviews.add_user("st-editor", [Role.EDITOR])
    reviewer = reviews.add_user("st-rev", [Role.REVIEWER])
    a = articles.create(reviews, answer, editor)
    for action, who in (("submit", editor), ("start", reviewer), ("approve", reviewer)):
        a = articles.transition(reviews, a.id, action, who, a.revision)
    assert check() == []  # nothing changed yet

    # a guideline-level local document carrying the text of the top cited consumer page
    cited = store.get_document(answer.references[0].document_id)
    assert cited is not None
    guide = tmp_path / "guideline.md"
    guide.write_text(
        f"---\ntitle: {cited.title} guideline\nevidence_level: 1-guideline\nyear: 2026\n---\n\n"
        + cited.text
    )
    assert ingest(store, [guide]).documents == 1
    flags = check()
    flagged = reviews.article(a.id)
    assert flagged is not None and flagged.needs_re_review, [f.reason for f in flags]
    assert "higher evidence level" in (flagged.re_review_reason or "")
    assert flagged.status is S.APPROVED  # still served while it awaits re-review
    served = articles.served(reviews, QUESTION, "clinician", EditorialSettings())
    assert served is not None and served.new_evidence

    store.remove(ids=[answer.references[0].document_id])
    assert any("was removed" in f.reason for f in check())
    assert reviews.audit(a.id)[-1].action == "flag_re_review"
    store.close()


def test_cli_workflow(base_corpus: tuple[Path, IngestSummary], tmp_path: Path) -> None:
    data = tmp_path / "data"
    copy_data_dir(base_corpus[0], data)
    env = {**cli_env(data), "OSLER_DENSE": "0"}

    def osler(*args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [sys.executable, "-m", "osler", *args], input=stdin, env=env, capture_output=True,
            text=True, timeout=300,
        )
        assert (run.returncode == 0) == ok, run.stderr + run.stdout
        return run

    osler("users", "add", "ed", "--role", "editor")
    osler("users", "add", "rev", "--role", "reviewer", "--credentials", "MD", "--password-stdin",
          stdin="long enough password\n")
    assert osler("users", "token", "rev").stdout.startswith("osl_")
    osler("review", "create", QUESTION, "--as", "ed")
    listed = json.loads(osler("review", "list", "--json").stdout)
    article_id = listed[0]["id"]
    refused = osler("review", "approve", article_id, "--as", "ed", ok=False)
    assert "needs the reviewer role" in refused.stderr
    osler("review", "submit", article_id, "--as", "ed", "-m", "checked")
    osler("review", "start", article_id, "--as", "rev")
    osler("review", "approve", article_id, "--as", "rev", "-m", "accurate")
    asked = json.loads(osler("ask", QUESTION, "--format", "json").stdout)
    assert asked["status"] == "approved" and asked["reviewed_by"] == ["rev, MD"]
    md = osler("articles", "export", article_id, "--format", "markdown").stdout
    assert "Reviewed by rev, MD" in md
    audit = json.loads(osler("audit", "--article", article_id, "--json").stdout)
    assert [e["action"] for e in audit] == ["create", "submit", "start", "approve"]
    assert audit[-1]["comment"] == "accurate"
    assert "no article" in osler("review", "show", "nope", ok=False).stderr
    # removing a cited source flags the approved article for re-review
    removed = osler("remove", asked["references"][0]["document_id"])
    assert "1 article(s) flagged for re-review" in removed.stderr
    flagged = json.loads(osler("review", "list", "--flagged", "--json").stdout)
    assert [a["id"] for a in flagged] == [article_id]
    assert "was removed" in flagged[0]["re_review_reason"]


@pytest.mark.parametrize(
    ("asked", "approved", "same"),
    [
        ("what is the treatment of gallbladder cancer", QUESTION, True),
        ("What causes Causes of Diabetes ?", "What causes Diabetes ?", True),
        # real MedQuAD pairs that a plain word overlap confused
        ("Is spinal and bulbar muscular atrophy inherited ?", "Is spinal muscular atrophy inherited ?", False),
        ("What is (are) primary sclerosing cholangitis ?", "What to do for Primary Sclerosing Cholangitis ?", False),
        ("How to diagnose Type 1 diabetes?", "How to diagnose Type 2 diabetes?", False),
    ],
)
def test_question_matching_needs_the_same_focus_and_intent(asked: str, approved: str, same: bool) -> None:
    assert (articles.similarity(asked, approved) >= EditorialSettings().match_threshold) is same


PATIENT_QUESTIONS = [
    "What are the treatments for gout?", "What is gout?", "What is asthma?",
    "What are the treatments for gallbladder cancer?", "What are the symptoms of diabetes?",
    "What is high blood pressure?", "What causes kidney stones?",
]


def test_edits_cannot_forge_what_a_reader_sees(asker: Osler, tmp_path: Path) -> None:
    """Issue 14.1: metadata from the store, http(s) links, the policy's disclaimer, verified
    glossary, labelled care-team questions, Osler's title; serving re-checks the version."""
    store = asker.store
    reviews = asker.reviews
    editor = reviews.add_user("forge-ed", [Role.EDITOR])
    reviewer = reviews.add_user("forge-rev", [Role.REVIEWER], "MD")
    asked = (asker.fresh_answer(q, "patient") for q in PATIENT_QUESTIONS)
    patient = next(a for a in asked if a.glossary and a.questions_to_ask and not a.abstained)
    # a composed answer passes the checks unchanged (its metadata already is the store's)
    same = articles.check_answer(patient, store, patient)
    assert same.references == patient.references and same.disclaimer == patient.disclaimer
    a = articles.create(reviews, patient, editor)

    def edit(**changes: object) -> Article:
        return articles.edit(reviews, a.id, patient.model_copy(update=changes), editor,
                             reviews.article(a.id).revision, "forged", store)  # type: ignore[union-attr]

    first = patient.references[0]
    term = patient.glossary[0]
    cure = term.model_copy(update={
        "definition": "Gout is cured permanently by a single dose of allopurinol 3000 mg."})
    with pytest.raises(ValueError, match=r"glossary definition .* not supported"):
        edit(glossary=[cure, *patient.glossary[1:]])
    with pytest.raises(ValueError, match="glossary term"):
        edit(glossary=[term.model_copy(update={"term": "allopurinol cure"})])
    with pytest.raises(ValueError, match="labelled set"):
        edit(questions_to_ask=["Should I take 3000 mg of allopurinol once?"])
    with pytest.raises(ValueError, match="title cannot be edited"):
        edit(title="Gout Is Curable")
    with pytest.raises(ValueError, match="heading"):
        edit(sections=[patient.sections[0].model_copy(update={"heading": "Cured for good"})])
    assert reviews.article(a.id).latest_version == 1  # type: ignore[union-attr]
    forged_ref = first.model_copy(update={
        "title": "ACR 2025 Gout Guideline", "evidence_level": EvidenceLevel.GUIDELINE,
        "url": "javascript:alert(1)", "source": "ACR", "year": 2025, "date": "2025-01-01"})
    saved = edit(references=[forged_ref, *patient.references[1:]], disclaimer="",
                 questions_to_ask=patient.questions_to_ask[:1])
    v2 = reviews.version(a.id, saved.latest_version)
    assert v2 is not None
    kept = v2.answer.references[0]
    doc = store.get_document(first.document_id)
    assert doc is not None
    assert (kept.title, kept.source, kept.evidence_level, kept.year) == (
        doc.title, doc.source, doc.evidence_level, doc.year)
    assert kept.url == first.url and not (kept.url or "https:").startswith("javascript")
    assert v2.answer.disclaimer == patient.disclaimer != ""
    assert v2.answer.questions_to_ask == patient.questions_to_ask[:1]

    # a version saved unchecked (as before this check) is re-checked when it is served
    def approved(answer: Answer) -> Article:
        made = articles.create(reviews, answer, editor)  # create saves a composed answer as is
        for action, who in (("submit", editor), ("start", reviewer), ("approve", reviewer)):
            made = articles.transition(reviews, made.id, action, who, made.revision)
        return made

    forged = patient.model_copy(update={"references": [forged_ref, *patient.references[1:]],
                                        "disclaimer": ""})
    served = articles.approved_answer(reviews, approved(forged), store)
    assert served is not None and served.status == "approved"
    assert served.references[0].title == doc.title and served.disclaimer == patient.disclaimer
    assert served.references[0].url is None or served.references[0].url.startswith("http")
    cured = approved(patient.model_copy(update={"glossary": [cure]}))
    assert articles.approved_answer(reviews, cured, store) is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd",
                                 "//evil.example", "http:evil", " JAVASCRIPT:x", ""])
def test_only_http_links_are_kept(url: str) -> None:
    assert articles.safe_url(url) is None
    assert articles.safe_url("https://medlineplus.gov/gout.html") == "https://medlineplus.gov/gout.html"
