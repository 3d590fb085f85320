"""The Action's pure decisions (bot.github_plan, bot.github_comment) on plain values and real logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.github_comment import COMMENT_LIMIT, Document, render_comment
from bot.github_plan import (
    MARKER,
    Config,
    IssueComment,
    IssueRef,
    Plan,
    State,
    combine,
    find_attachment_urls,
    is_own_comment,
    make_plan,
    parse_event,
    read_state,
    replace_state,
)
from triage.decode import decode
from triage.engine import Engine

CORPUS = Path(__file__).resolve().parent / "corpus"
CUDA_LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")
METAL_LOG = (CORPUS / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log").read_text(encoding="utf-8")
ISSUE = IssueRef("octo-org/llama-app", 42, "https://github.com/octo-org/llama-app/issues/42")
HOSTS = ("github.com", "gist.githubusercontent.com", "localhost")
ENGINE = Engine.build()
analyse = ENGINE.analyse


def _plan(
    texts: list[str],
    *,
    issue_labels: tuple[str, ...] = (),
    repo_labels: tuple[str, ...] = (),
    comments: tuple[IssueComment, ...] = (),
    config: Config = Config(),
) -> Plan:
    docs = [Document("the issue body" if i == 0 else "a comment", "", decode(t.encode()).decode()) for i, t in enumerate(texts)]
    text, starts = combine(docs)
    report = analyse(text) if text.strip() else None
    return make_plan(ISSUE, report, docs, starts, issue_labels, repo_labels, comments, config)


def _bot(body: str, cid: int = 7, login: str = "github-actions[bot]") -> IssueComment:
    return IssueComment(cid, body, login, "Bot", f"https://github.com/octo-org/llama-app/issues/42#issuecomment-{cid}")


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("issues", {"action": "opened", "issue": {"number": 3}}, 3),
        ("issues", {"action": "edited", "issue": {"number": 3}}, 3),
        ("issues", {"action": "reopened", "issue": {"number": 3}}, 3),
        ("issue_comment", {"action": "created", "issue": {"number": 3}, "comment": {}}, 3),
        ("issue_comment", {"action": "edited", "issue": {"number": 3}, "comment": {}}, 3),
        ("issues", {"action": "labeled", "issue": {"number": 3}}, None),
        ("issue_comment", {"action": "deleted", "issue": {"number": 3}}, None),
        ("issue_comment", {"action": "created", "issue": {"number": 3, "pull_request": {"url": "x"}}}, None),
        ("push", {"ref": "refs/heads/main"}, None),
        ("issues", {"action": "opened"}, None),
    ],
)
def test_parse_event(name: str, payload: dict[str, Any], expected: int | None) -> None:
    ref = parse_event(name, payload, "o/r")
    if expected is None:
        assert isinstance(ref, str) and ref
    else:
        assert isinstance(ref, IssueRef) and ref.number == expected


@pytest.mark.parametrize(
    ("comment", "bot_login", "own"),
    [
        (IssueComment(1, MARKER + "\nreport", "github-actions[bot]", "Bot"), None, True),
        (IssueComment(1, MARKER + "\nreport", "mallory", "User"), None, False),  # a person pasting the marker
        (IssueComment(1, "quote:\n" + MARKER, "github-actions[bot]", "Bot"), None, False),  # not at the start
        (IssueComment(1, " " + MARKER, "github-actions[bot]", "Bot"), None, False),
        (IssueComment(1, MARKER, "triage-pat-user", "User"), "triage-pat-user", True),
        (IssueComment(1, MARKER, "github-actions[bot]", "Bot"), "triage-pat-user", False),
        (IssueComment(1, MARKER + "\nreport", "other-app[bot]", "Bot"), None, False),  # another app is not "own"
        (IssueComment(1, MARKER, "my-app[bot]", "Bot"), "my-app[bot]", True),
    ],
)
def test_is_own_comment(comment: IssueComment, bot_login: str | None, own: bool) -> None:
    assert is_own_comment(comment, bot_login) is own


def test_state_round_trips_and_cannot_close_the_html_comment() -> None:
    state = State(kb_ids=("cuda-arch-mismatch",), labels=("triage:cuda-arch-mismatch", "os:x-->y"), declined=("a<b>",))
    marker = state.marker()
    assert marker.count("-->") == 1 and marker.endswith(" -->")
    assert read_state("text\n" + marker) == state
    assert read_state("no state here") == State()
    assert read_state("<!-- triage:state {not json} -->") == State()
    assert read_state('<!-- triage:state {"labels": [1, "ok", ""]} -->').labels == ("ok",)
    assert replace_state("a\n" + marker + "\n", State()) == "a\n" + State().marker() + "\n"


def test_combine_maps_engine_lines_back_to_each_document() -> None:
    docs = [Document("body", "", "intro\nmore"), Document("c1", "", "x"), Document("c2", "", METAL_LOG.rstrip("\n"))]
    text, starts = combine(docs)
    assert starts == [1, 4, 6]
    lines = text.split("\n")
    assert lines[starts[2] - 1] == METAL_LOG.split("\n")[0]
    report = analyse(text)
    [ev] = [e for e in report.matches[0].evidence if "failed to initialize Metal backend" in e.text]
    assert METAL_LOG.split("\n")[ev.line - starts[2]].strip() == ev.text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("see https://github.com/user-attachments/files/17000000/server.log", ["https://github.com/user-attachments/files/17000000/server.log"]),
        ("[log](https://github.com/octo-org/llama-app/files/123/crash.txt).", ["https://github.com/octo-org/llama-app/files/123/crash.txt"]),
        ("https://gist.githubusercontent.com/bob/0123abcd/raw/5f5f/llama.log", ["https://gist.githubusercontent.com/bob/0123abcd/raw/5f5f/llama.log"]),
        ("http://localhost:8000/user-attachments/files/1/a.log", ["http://localhost:8000/user-attachments/files/1/a.log"]),
        ("https://github.com/user-attachments/files/1/model.zip", []),  # not a text file
        ("https://github.com/user-attachments/assets/0b1d-uuid", []),  # an image
        ("http://github.com/user-attachments/files/1/a.log", []),  # plain http
        ("https://evil.example/user-attachments/files/1/a.log", []),  # host not allowed
        ("https://github.com.evil.example/user-attachments/files/1/a.log", []),
        ("https://user:pw@github.com/user-attachments/files/1/a.log", []),
        ("https://github.com/octo-org/llama-app/issues/1", []),
    ],
)
def test_find_attachment_urls(text: str, found: list[str]) -> None:
    assert find_attachment_urls(text, HOSTS) == found


def test_find_attachment_urls_caps_the_count_and_dedupes() -> None:
    links = " ".join(f"https://github.com/user-attachments/files/{i}/l.log" for i in range(9))
    assert len(find_attachment_urls(links + " " + links, HOSTS)) == 5


def test_confident_match_plans_labels_and_a_new_comment() -> None:
    plan = _plan([CUDA_LOG], repo_labels=("bug", "backend:cuda"))
    assert plan.kb_ids == ("cuda-arch-mismatch",)
    assert plan.add_labels[0] == "triage:cuda-arch-mismatch"
    created = {spec.name: spec for spec in plan.create_labels}
    assert "backend:cuda" not in created  # exists in the repository already
    assert created["triage:cuda-arch-mismatch"].description.startswith("The CUDA build")
    assert plan.comment is not None and plan.comment.action == "create"
    assert plan.comment.body.startswith(MARKER + "\n")
    assert read_state(plan.comment.body).labels == plan.add_labels


def test_unchanged_report_needs_no_call() -> None:
    first = _plan([CUDA_LOG])
    assert first.comment is not None
    again = _plan([CUDA_LOG], issue_labels=first.add_labels, repo_labels=first.add_labels, comments=(_bot(first.comment.body),))
    assert again.is_empty


def test_new_log_updates_the_comment_and_swaps_only_triage_labels() -> None:
    first = _plan([CUDA_LOG])
    assert first.comment is not None
    labels = (*first.add_labels, "bug", "triage:cuda-oom")
    plan = _plan([CUDA_LOG.replace("CUDA error", "no error"), METAL_LOG], issue_labels=labels, comments=(_bot(first.comment.body),))
    assert plan.comment is not None and plan.comment.action == "update" and plan.comment.comment_id == 7
    assert "triage:metal-init-failed" in plan.add_labels
    assert plan.remove_labels == ("triage:cuda-arch-mismatch",)  # not bug, not backend:cuda, not the hand-added cuda-oom


def test_label_removed_by_a_person_is_declined() -> None:
    first = _plan([CUDA_LOG])
    assert first.comment is not None
    plan = _plan([CUDA_LOG], issue_labels=("backend:cuda", "os:linux"), comments=(_bot(first.comment.body),))
    assert "triage:cuda-arch-mismatch" not in plan.add_labels
    assert "triage:cuda-arch-mismatch" in plan.state.declined
    later = _plan([CUDA_LOG], issue_labels=("backend:cuda", "os:linux"), comments=(_bot(plan.comment.body if plan.comment else first.comment.body),))
    assert "triage:cuda-arch-mismatch" not in later.add_labels


def test_gone_match_updates_the_comment() -> None:
    first = _plan([CUDA_LOG])
    assert first.comment is not None
    plan = _plan(["Works now, sorry."], issue_labels=first.add_labels, comments=(_bot(first.comment.body),))
    assert plan.comment is not None and plan.comment.action == "update"
    assert "The earlier match no longer applies" in plan.comment.body and "`cuda-arch-mismatch`" in plan.comment.body
    assert plan.remove_labels == ("triage:cuda-arch-mismatch",)


@pytest.mark.parametrize(
    ("mode", "text", "comments"),
    [
        ("off", "Segmentation fault (core dumped)", False),
        ("logs", "Segmentation fault (core dumped)", True),
        ("logs", "Please add a dark mode.", False),
        ("always", "It crashes when I load a model.", True),
    ],
)
def test_comment_on_miss(mode: str, text: str, comments: bool) -> None:
    plan = _plan([text], config=Config(comment_on_miss=mode))  # type: ignore[arg-type]
    assert (plan.comment is not None) is comments
    if plan.comment is not None:
        assert "**What to send next:**" in plan.comment.body


def test_no_text_plans_nothing() -> None:
    plan = make_plan(ISSUE, None, [], [], (), (), (), Config(comment_on_miss="always"))
    assert plan.is_empty and plan.kb_ids == ()


def test_options_prefix_fact_labels_comment_and_min_confidence() -> None:
    plan = _plan([CUDA_LOG], config=Config(label_prefix="crash/", fact_labels=False, comment=False))
    assert plan.add_labels == ("crash/cuda-arch-mismatch",) and plan.comment is None
    assert _plan([CUDA_LOG], config=Config(min_confidence=0.995)).kb_ids == ()


def test_duplicate_own_comments_are_deleted_and_the_first_kept() -> None:
    first = _plan([CUDA_LOG])
    assert first.comment is not None
    plan = _plan([CUDA_LOG], issue_labels=first.add_labels, comments=(_bot(first.comment.body, 7), _bot(first.comment.body, 9)))
    assert plan.comment is None and plan.delete_comments == (9,)


def test_comment_escapes_what_it_quotes_and_links_no_upstream_issue() -> None:
    plan = _plan([CUDA_LOG + "\n@everyone ```` <img src=x onerror=alert(1)>\n"])
    assert plan.comment is not None
    body = plan.comment.body
    assert "@everyone" not in body and "<img" not in body.split("```")[0]
    assert "](https://github.com/" not in body and "<https://github.com/" not in body
    assert "<https://redirect.github.com/" in body


def test_metal_comment_reads_well() -> None:
    plan = _plan(["My Mac server dies at start", METAL_LOG])
    assert plan.comment is not None
    body = plan.comment.body
    assert body.startswith(MARKER + "\n### Known problem: Metal shader compile fails")
    for part in ("**Your version:** llama-cpp-python", "**Why:**", "In a comment:", "**Root cause:**", "1. Reinstall llama-cpp-python", "<details><summary>Facts from the log</summary>", "| GPU | `Apple M1` |"):
        assert part in body, part
    assert "PR #\u200b6015" in body  # no cross-reference to an unrelated issue #6015 of this repository


def test_comment_stays_under_githubs_limit() -> None:
    report = analyse(CUDA_LOG)
    m = report.matches[0]
    m.evidence[:] = [type(m.evidence[0])(line=1, text="x" * 10_000, signature="s")] * 5
    m.remedies[:] = ["y" * 30_000, "z" * 30_000]
    body = render_comment(report, [m, m], [Document("the issue body", "", CUDA_LOG)], [1], facts=report.facts)
    assert len(body) < COMMENT_LIMIT
    assert body.count("```") % 2 == 0


def test_state_is_read_only_from_the_last_line() -> None:
    mine = State(labels=("triage:a",)).marker()
    theirs = State(labels=("triage:b",), declined=("triage:c",)).marker()
    body = f"{MARKER}\n```text\n    3: x {theirs}\n```\n{mine}\n"
    assert read_state(body).labels == ("triage:a",)
    assert read_state(f"{MARKER}\n```text\n    3: x {theirs}\n```\n---\nfooter\n") == State()  # no state line: empty
    assert read_state(f"{MARKER}\n{theirs} and more\n") == State()  # not the whole line
    replaced = replace_state(body, State(labels=("triage:z",)))
    assert f"    3: x {theirs}" in replaced  # the quoted copy is untouched
    assert read_state(replaced).labels == ("triage:z",)
    assert replaced.count("<!-- triage:state") == 2


def test_state_records_the_fingerprint() -> None:
    state = State(kb_ids=("x",), fingerprint="ab12-cd34", specific=True)
    assert read_state("a\n" + state.marker()) == state
    assert read_state('<!-- triage:state {"fp": "bad id\\" OR x", "fp_specific": true} -->').fingerprint == ""
    assert read_state('<!-- triage:state {"fp": "abcd1234", "fp_specific": "yes"} -->').specific is False


def _report_with(fingerprint: Any, text: str = CUDA_LOG) -> Any:
    from triage.model import Fingerprint

    report = analyse(text)
    report.fingerprint = Fingerprint(*fingerprint) if fingerprint else None
    return report


def _plan_for(report: Any, duplicate: Any = None, config: Config = Config()) -> Plan:
    docs = [Document("the issue body", "", CUDA_LOG)]
    return make_plan(ISSUE, report, docs, [1], (), (), (), config, duplicate)


def test_duplicate_line_and_label_only_for_a_specific_fingerprint() -> None:
    from bot.github_plan import Duplicate

    dup = Duplicate(7, "open", 3)
    config = Config(duplicate_label="possible duplicate")
    plan = _plan_for(_report_with(("f00dcafe", "GGML_ASSERT(x) in ggml-cuda.cu", True, (3,))), dup, config)
    assert plan.comment is not None
    assert plan.comment.body.startswith(MARKER + "\nLooks like the same crash as #7 (open, reported by 3 others).\n")
    assert "possible duplicate" in plan.add_labels
    assert "`triage-fp:f00dcafe`" in plan.comment.body and "GGML_ASSERT(x) in ggml-cuda.cu" in plan.comment.body
    assert read_state(plan.comment.body).fingerprint == "f00dcafe" and plan.state.specific
    generic = _plan_for(_report_with(("0000aaaa", "Segmentation fault", False, (3,))), dup, config)
    assert generic.comment is not None and "same crash" not in generic.comment.body
    assert "possible duplicate" not in generic.labels and "triage-fp:" not in generic.comment.body
    assert read_state(generic.comment.body).fingerprint == "0000aaaa" and not generic.state.specific
    itself = _plan_for(_report_with(("f00dcafe", "x", True, (3,))), Duplicate(ISSUE.number, "open", 0), config)
    assert itself.comment is not None and "same crash" not in itself.comment.body
    closed = _plan_for(_report_with(("f00dcafe", "x", True, (3,))), Duplicate(5, "closed", 1))
    assert closed.comment is not None and "same crash as #5 (closed, reported by 1 other)." in closed.comment.body
    assert "duplicate" not in " ".join(closed.labels)  # no label unless the input names one


def _match(steps: list[Any]) -> Any:
    from triage.model import RemedyStep

    report = analyse(CUDA_LOG)
    m = report.matches[0]
    m.remedy_steps = [RemedyStep(*s) for s in steps]
    m.remedies = [s[0] for s in steps]
    return report, m


STEPS = [
    ("Use a build with kernels for your GPU.", None, None, None),
    ("Start KoboldCpp with `--usecublas`.", "koboldcpp", None, "KoboldCpp"),
    ("Set `OLLAMA_LLM_LIBRARY=cuda_v12`.", "ollama", None, "Ollama"),
    ("Pick the CUDA 12 runtime in KoboldCpp's launcher.", "koboldcpp", "windows", "KoboldCpp"),
    ("Reboot after the driver update.", None, "linux", None),
]


def test_remedies_unknown_runtime_are_grouped_under_the_runtimes_name() -> None:
    from triage.model import Facts

    report, m = _match(STEPS)
    body = render_comment(report, [m], [Document("the issue body", "", CUDA_LOG)], [1], facts=Facts())
    part = body.split("**What to do:**", 1)[1]
    assert "1. Use a build with kernels for your GPU.\n2. *Linux:* Reboot after the driver update." in part
    assert "- **KoboldCpp:**\n  - Start KoboldCpp with `--usecublas`.\n  - *Windows:* Pick the CUDA 12 runtime" in part
    assert "- **Ollama:** Set `OLLAMA_LLM_LIBRARY=cuda_v12`." in part
    assert part.index("1. Use a build") < part.index("**KoboldCpp:**") < part.index("**Ollama:**")


def test_remedies_known_runtime_are_numbered_in_order() -> None:
    from triage.model import Facts

    report, m = _match(STEPS[1:2] + STEPS[0:1])
    body = render_comment(report, [m], [Document("the issue body", "", CUDA_LOG)], [1], facts=Facts(product="koboldcpp", os="windows"))
    assert "1. Start KoboldCpp with `--usecublas`.\n2. Use a build with kernels for your GPU." in body
    assert "**KoboldCpp:**" not in body


@pytest.mark.parametrize(
    ("kb_url", "link"),
    [
        ("https://github.com/OWNER/triage/blob/v1/", "https://github.com/OWNER/triage/blob/v1/kb/cuda-arch-mismatch.md"),
        ("https://triage.example.org", "https://triage.example.org/kb/cuda-arch-mismatch/"),
        ("https://triage.example.org/docs/", "https://triage.example.org/docs/kb/cuda-arch-mismatch/"),
        (None, None),
    ],
)
def test_kb_page_link(kb_url: str | None, link: str | None) -> None:
    plan = _plan([CUDA_LOG], config=Config(kb_url=kb_url))
    assert plan.comment is not None
    if link is None:
        assert "knowledge base page" not in plan.comment.body
    else:
        assert f"[knowledge base page]({link})" in plan.comment.body
