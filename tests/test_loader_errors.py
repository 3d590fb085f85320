"""Every data error names its file and field (pinned with tiny broken files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.errors import DataErrors
from triage.load import load_kb

GOOD_ENTRY = '''+++
id = "demo-crash"
title = "Demo crash"
summary = "A demo."
root_cause = "Because {{port|a port}}."
references = ["https://github.com/o/r/issues/1"]
remedies = ["Use {{port}}."]
+++
Body.
'''
GOOD_SIG = """[[signature]]
id = "demo-sig"
description = "d"
keywords = ["demo error"]
regex = '''demo error on port (?P<port>\\d+)'''
[signature.examples]
match = ["demo error on port 80"]
no_match = ["demo error on port x"]
"""


def _kb(tmp: Path, entry: str = GOOD_ENTRY, sig: str = GOOD_SIG) -> Path:
    (tmp / "kb").mkdir(parents=True)
    (tmp / "signatures").mkdir()
    (tmp / "kb" / "demo-crash.md").write_text(entry, encoding="utf-8")
    (tmp / "signatures" / "demo-crash.toml").write_text(sig, encoding="utf-8")
    return tmp


def _errors(tmp: Path) -> list[str]:
    with pytest.raises(DataErrors) as info:
        load_kb([tmp], builtin=False, use_cache=False)
    return [str(e) for e in info.value.errors]


def test_good_data_loads(tmp_path: Path) -> None:
    kb = load_kb([_kb(tmp_path)], builtin=False, use_cache=False)
    assert list(kb.entries) == ["demo-crash"]


def test_bad_regex_names_file_field_and_position(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, sig=GOOD_SIG.replace("(?P<port>\\d+)", "(?P<port>\\d+")))
    assert any("signatures/demo-crash.toml: signature[0].regex[0]: missing )" in e and "^" in e for e in errors), errors


def test_missing_field(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, entry=GOOD_ENTRY.replace('title = "Demo crash"\n', "")))
    assert any(e.endswith("kb/demo-crash.md: title: Field required") for e in errors), errors


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, sig=GOOD_SIG.replace("description", "descriptoin")))
    assert any("signature[0].descriptoin: Extra inputs are not permitted" in e for e in errors), errors


def test_placeholder_without_source(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, entry=GOOD_ENTRY.replace("Use {{port}}.", "Use {{prot}}.")))
    assert any("kb/demo-crash.md: remedies[0]: placeholder {{prot}} has no source" in e for e in errors), errors


def test_root_cause_placeholder_needs_fallback(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, entry=GOOD_ENTRY.replace("{{port|a port}}", "{{port}}")))
    assert any("root_cause: placeholder {{port}} needs a fallback" in e for e in errors), errors


def test_signature_for_missing_entry(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, sig=GOOD_SIG.replace('id = "demo-sig"', 'id = "demo-sig"\nkb = "no-such-entry"')))
    assert any("signature[0].kb: no KB entry 'no-such-entry'" in e for e in errors), errors


def test_keywords_required(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, sig=GOOD_SIG.replace('keywords = ["demo error"]\n', "")))
    assert any("signature[0].keywords: required" in e for e in errors), errors


def test_invalid_toml_front_matter(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, entry=GOOD_ENTRY.replace('title = "Demo crash"', "title = Demo crash")))
    assert any("kb/demo-crash.md: front matter: invalid TOML" in e for e in errors), errors


def test_id_must_match_file_name(tmp_path: Path) -> None:
    errors = _errors(_kb(tmp_path, entry=GOOD_ENTRY.replace('id = "demo-crash"', 'id = "other-crash"')))
    assert any("kb/demo-crash.md: id: 'other-crash' does not match the file name" in e for e in errors), errors


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    bad_entry = GOOD_ENTRY.replace('title = "Demo crash"\n', "").replace('summary = "A demo."\n', "")
    errors = _errors(_kb(tmp_path, entry=bad_entry))
    assert sum("Field required" in e for e in errors) >= 2


def test_a_variant_is_linked_from_its_signatures_only(tmp_path: Path) -> None:
    """The signature names its variant; a variant that lists signatures itself is rejected, and a variant no
    signature names is an error naming the entry's file and the variant."""
    orphan = GOOD_ENTRY.replace("+++\nBody.", '[[variant]]\nid = "old-way"\ncause = "c"\n+++\nBody.')
    errors = _errors(_kb(tmp_path / "a", entry=orphan))
    assert any("kb/demo-crash.md: variant[0]" in e and "no signature names variant 'old-way'" in e for e in errors), errors
    listed = orphan.replace('cause = "c"\n', 'cause = "c"\nsignatures = ["demo-sig"]\n')
    assert any("variant[0].signatures" in e for e in _errors(_kb(tmp_path / "b", entry=listed)))
    linked = GOOD_SIG.replace('description = "d"', 'variant = "old-way"\ndescription = "d"')
    kb = load_kb([_kb(tmp_path / "c", entry=orphan, sig=linked)], builtin=False, use_cache=False)
    assert kb.entries["demo-crash"].variants[0].signatures == ("demo-sig",)


RUSSIAN_SIG = """[[signature]]
id = "demo-sig"
description = "d"
keywords = ["KEYWORD"]
regex = '''Недопустимая инструкция(?P<port>)'''
[signature.examples]
match = ["Недопустимая инструкция (стек памяти сброшен на диск)"]
no_match = ["Illegal instruction"]
"""


@pytest.mark.parametrize(("keyword", "found"), [("Недопустимая инструкция", True), ("едопустимая инструкция", True),
                                                 ("недопустимая инструкция", True), ("НЕДОПУСТИМАЯ ИНСТРУКЦИЯ", True),
                                                 ("недопустимый адрес", False)])
def test_keywords_fold_ascii_only_like_the_prefilter(tmp_path: Path, keyword: str, found: bool) -> None:
    """The log is scanned as bytes.lower(): a capital Cyrillic letter stays capital, so a keyword is also looked
    for lower-cased, Capitalised and in capitals (`keyword_forms`), and kb check folds examples the same way: a
    keyword the example does not hold in any of those forms is still called dead."""
    from triage.engine import Engine
    from triage.kbtool import check_kb

    engine = Engine.build([_kb(tmp_path, sig=RUSSIAN_SIG.replace("KEYWORD", keyword))], builtin=False)
    report = engine.analyse("$ ./llama-cli -m model.gguf\nНедопустимая инструкция (стек памяти сброшен на диск)\n")
    assert ("demo-crash" in {m.kb_id for m in report.matches}) is found
    errors, _ = check_kb(engine, timing=False, fixtures=[])
    assert any("contains none of the signature's keywords" in str(e) for e in errors) is not found
