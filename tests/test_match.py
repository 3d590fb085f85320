"""Matching details: wrapped messages, near-miss vetoes, evidence lines."""

from __future__ import annotations

from conftest import analyse


def ids(text: str) -> list[str]:
    return [m.kb_id for m in analyse(text, redact=False).matches]


def test_message_wrapped_onto_the_next_line_still_matches() -> None:
    log = "ggml_cuda_compute_forward: SCALE failed\nCUDA error: no kernel image is available for\n  execution on the device\n"
    report = analyse(log, redact=False)
    assert [m.kb_id for m in report.matches] == ["cuda-arch-mismatch"]
    assert report.matches[0].evidence[0].line == 2


def test_joined_lines_do_not_invent_a_match_across_unrelated_lines() -> None:
    # The keyword line alone does not match, and joining it with the next line must not either.
    assert ids("bind: address already\nin the morning we retry\n") == []


def test_same_message_from_another_product_is_vetoed() -> None:
    assert ids("RuntimeError: CUDA error: no kernel image is available for execution on the device\n") == []


def test_evidence_line_numbers_follow_the_input() -> None:
    log = "\n".join(["hello"] * 41 + ["Error: listen tcp 127.0.0.1:11434: bind: address already in use"]) + "\n"
    report = analyse(log, redact=False)
    assert report.matches[0].kb_id == "port-already-in-use"
    assert report.matches[0].evidence[0].line == 42
    assert "11434" in report.matches[0].root_cause


def test_a_near_condition_also_reads_the_rest_of_the_matched_line() -> None:
    """A paste that lost its line breaks (a chat box) keeps the neighbour on the match's own line."""
    lines = "[Context Shifting: Erased 106 tokens at position 9339]\nProcessing Prompt [BATCH] (431 / 431 tokens)\n" \
            "exception: access violation reading 0x0000000000000010\n"
    assert "context-shift-crash" in ids(lines)
    assert "context-shift-crash" in ids(lines.replace("\n", " ").strip() + "\n")
    # the shift alone, on one line or not, is not a crash
    assert "context-shift-crash" not in ids("[Context Shifting: Erased 106 tokens at position 9339] Processing Prompt\n")


def test_a_cut_last_line_needs_a_real_partial_match_of_32_characters() -> None:
    """`regex`'s partial search misreports the start after a lazy repeat (`\\S{0,300}?`): a 12-character tail
    ('llama_sampl') passed for a match of the whole line. The cut line must not be read as llama-cpp-python's."""
    cut = ("E/flutter (24616): LlamaException: Failed to initialize Llama (Invalid argument(s): Failed to lookup symbol "
           "'llama_sampler_chain_default_params': undefined symbol: llama_sampl")
    assert "llama-cpp-python-version-mismatch" not in ids(cut)
    # a line cut where llama-cpp-python's own path is already there still reads as it
    real = "OSError: /home/u/.venv/lib/python3.12/site-packages/llama_cpp/lib/libllama.so: undefined symbol: llama_get_kv_s"
    assert "llama-cpp-python-version-mismatch" in ids(real)


def test_a_last_line_ending_in_a_rule_of_equals_signs_is_not_cut() -> None:
    """A paste that lost its line breaks ends with pytest's `=== short test summary info ===` rule: a complete
    line, not one cut after `key=`. Read as cut, three patterns matched up to its end (paste-forms one-line form)."""
    line = ("E   RuntimeError: Failed to load shared library '/nix/store/x-llama-cpp-python-0.3.16/lib/python3.12/"
            "site-packages/llama_cpp/lib/libllama.so': libcuda.so.1: cannot open shared object file: No such file or "
            "directory =========================== short test summary info ============================")
    assert "linux-glibc-too-old" not in ids(line)
    # a line really cut after its `=` still reads as cut; a rule of `=` signs does not
    from triage.match import _looks_cut

    assert _looks_cut("llama_new_context_with_model: n_ctx      =")
    assert not _looks_cut("=========================== short test summary info ============================")
