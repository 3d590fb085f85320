"""Property tests (hypothesis): arbitrary input never crashes; a real error line
embedded in random text is still found."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import analyse, shared_engine as default_kb
from triage.errors import InputError
from triage.render import to_json, to_markdown, to_text

KB = default_kb()
ERRORS = {
    "cuda-arch-mismatch": "mmq.cuh:2589: ERROR: CUDA kernel mul_mat_q has no device code compatible with CUDA arch 520. ggml-cuda.cu was compiled for: 520",
    "metal-init-failed": "ggml_metal_init: error: Error Domain=MTLLibraryErrorDomain Code=3 \"program_source:3:10: fatal error: 'ggml-common.h' file not found",
    "cuda-dmmv-iq-unsupported": "GGML_ASSERT: d:\\a\\koboldcpp\\koboldcpp\\ggml-cuda\\dmmv.cu:804: false",
    "unknown-pre-tokenizer": "llama_model_load: error loading model: error loading model vocabulary: unknown pre-tokenizer type: 'deepseek-r1-qwen'",
    "port-already-in-use": "Error: listen tcp 127.0.0.1:11434: bind: address already in use",
}
noise_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x1b"), max_size=120)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        report = analyse(data, KB)
    except InputError:
        return
    to_text(report)
    to_markdown(report)
    to_json(report)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        report = analyse(text, KB)
    except InputError:
        return
    assert "{{" not in to_markdown(report) or "{{" in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(ERRORS)),
    st.lists(noise_line, max_size=40),
    st.lists(noise_line, max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_error_line_in_random_text_is_found(kb_id: str, before: list[str], after: list[str], eol: str) -> None:
    lines = [*before, ERRORS[kb_id], *after]
    report = analyse(eol.join(lines) + eol, KB, redact=False)
    found = [m.kb_id for m in report.matches]
    assert kb_id in found, (found, lines)
    match = next(m for m in report.matches if m.kb_id == kb_id)
    assert any(e.line == len(before) + 1 for e in match.evidence)
