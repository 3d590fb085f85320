"""A shell's bare `Illegal instruction` is confident only beside a llama.cpp-family word (issue 14).

vLLM-CPU, CTranslate2, PyTorch, TensorFlow(.js) and Node print the same shell line; blind rounds answered them
confidently until each was vetoed by name. The signature is now gated on `\\L<ggml-family>` anywhere in the paste
and alone gives the ungated, "possible" reading."""

from __future__ import annotations

import pytest

from triage.engine import Engine

ID = "illegal-instruction-cpu-isa"


def _answer(engine: Engine, log: str) -> tuple[str, list[str]] | None:
    for m in engine.analyse(log).matches:
        if m.kb_id == ID:
            return m.certainty, [e.signature for e in m.evidence]
    return None


@pytest.mark.parametrize(
    "log",
    [
        "Illegal instruction (core dumped)\n",
        "$ python3 server.py --chat\nIlegal instruction ('core' generated)\n",
        "Ungültiger Maschinenbefehl (Speicherabzug geschrieben)\n",
        # 'whisper' alone is faster-whisper's or OpenAI's PyTorch whisper too: not a family word
        "Loading whisper model base.en\nIllegal instruction (core dumped)\n",
        # a Hugging Face repo name with GGUF in it is read by other loaders too
        "Downloading TheBloke/Llava-GGUF-2.0\nIllegal instruction (core dumped)\n".replace("Llava", "Mistral"),
    ],
)
def test_bare_shell_line_is_only_possible(engine: Engine, log: str) -> None:
    assert _answer(engine, log) == ("possible", ["sigill-shell-illegal-instruction"])


@pytest.mark.parametrize(
    "log",
    [
        "llama_model_loader: loaded meta data with 24 key-value pairs\nIllegal instruction (core dumped)\n",
        "./start.sh: line 5: 4242 Illegal instruction     (core dumped) ./llama-server -m model.gguf\n",
        "Welcome to KoboldCpp - Version 1.60\nIllegal instruction\n",
        # ggml's GGUF reader and whisper.cpp's loader: the family's own prefixes (CrispASR#405, round 17)
        "gguf_init_from_reader: invalid magic characters: '3178', expected 'GGUF'\nIllegal instruction (core dumped)\n",
        "whisper_init_from_file_with_params_no_state: loading model from 'm.bin'\nIllegal instruction (core dumped)\n",
    ],
)
def test_with_a_family_word_it_is_confident(engine: Engine, log: str) -> None:
    assert _answer(engine, log) == ("confident", ["sigill-shell-illegal-instruction"])


def test_named_look_alikes_stay_silent_without_a_family_word(engine: Engine) -> None:
    log = "/usr/local/bin/docker-entrypoint.sh: line 7: 111 Illegal instruction (core dumped) node /app/server/index.js\n"
    assert _answer(engine, log) is None
