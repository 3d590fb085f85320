"""Computed placeholder values (triage/compute.py): plain functions of groups and facts."""

from conftest import shared_engine
from triage.compute import COMPUTED_NAMES, compute_values as _compute, exit_code_hex, fmt_mib, parse_size_mib
from triage.model import Facts, Gpu


def compute_values(groups, facts):
    """compute_values with the built-in tables/ and products/, as the ranking stage calls it."""
    kb = shared_engine().kb
    return _compute(groups, facts, kb.tables, kb.products.get(facts.product or ""), kb.listed_products)


def _facts(product=None, numbers=None, flags=None, gpus=None):
    return Facts(product=product, numbers=dict(numbers or {}), flags=dict(flags or {}), gpus=list(gpus or []))


def test_fmt_mib():
    assert fmt_mib(512) == "512 MiB"
    assert fmt_mib(7825.94) == "7.6 GiB"
    assert fmt_mib(0.5) == "512 KiB"  # a small request is not "0 MiB"
    assert fmt_mib(1 / (1024 * 1024)) == "1 byte"
    assert fmt_mib(300 / (1024 * 1024)) == "300 bytes"


def test_parse_size_mib():
    assert parse_size_mib("164.8 GiB") == 164.8 * 1024
    assert parse_size_mib("615.4 MiB") == 615.4
    assert parse_size_mib("1073741824") == 1024
    assert parse_size_mib("2 TB") == 2 * 1024 * 1024
    assert parse_size_mib("") is None
    assert parse_size_mib("lots") is None


def test_all_outputs_are_declared():
    facts = _facts(
        product="ollama",
        numbers={"model_mib": 8000, "n_layer": 32, "free_vram_mib": 4000, "kv_mib": 4096, "n_ctx": 32768},
        flags={"gpu_layers": "33", "parallel": "2"},
        gpus=[Gpu(name="RTX", compute_capability="6.1", vram_mib=8192)],
    )
    out = compute_values({"alloc_mib": "6000", "required_mem": "9 GiB", "available_mem": "4 GiB"}, facts)
    assert set(out) <= set(COMPUTED_NAMES)


def test_flags_per_product():
    assert compute_values({}, _facts("koboldcpp"))["gpu_layers_flag"] == "--gpulayers N"
    assert compute_values({}, _facts("ollama"))["ctx_flag"].startswith("num_ctx")
    assert "gpu_layers_flag" not in compute_values({}, _facts())
    # An unknown runtime gets the setting spelled by the main runtimes, each named.
    unknown = compute_values({}, _facts())["setting_gpu_layers"]
    assert "KoboldCpp: --gpulayers N" in unknown and "llama.cpp: -ngl N" in unknown and "Ollama:" in unknown
    assert compute_values({}, _facts("lmstudio"))["setting_gpu_layers"].startswith("GPU Offload")


def test_exit_codes_in_every_notation():
    assert exit_code_hex("3221225501") == exit_code_hex("-1073741795") == exit_code_hex("0xC000001D") == "0xc000001d"
    assert exit_code_hex("2") is None and exit_code_hex("abc") is None
    out = compute_values({"exit_code": "3221225501"}, _facts())
    assert out["exit_code_hex"] == "0xc000001d" and "illegal instruction" in out["exit_code_meaning"].lower()


def test_requested_and_free_from_llamacpp_device_line():
    facts = _facts("llama.cpp", gpus=[Gpu(name="NVIDIA GeForce RTX 3060", free_mib=11000, backend="cuda")])
    out = compute_values({"alloc_mib": "14000.5"}, facts)
    assert out["requested_mib"] == "13.7 GiB"
    assert out["free_mib"] == "10.7 GiB"
    assert out["shortfall_mib"] == "2.9 GiB"


def test_requested_from_bytes():
    out = compute_values({"alloc_bytes": str(2 * 1024**3)}, _facts())
    assert out["requested_mib"] == "2.0 GiB"


def test_suggested_layers_from_model_size_and_free_vram():
    # 24.62 GiB Mixtral, 32 layers (~788 MiB each), 8 GiB free -> (8192-1024)/788 = 9 layers.
    facts = _facts("llama.cpp", numbers={"model_mib": 24.62 * 1024, "n_layer": 32, "free_vram_mib": 8192}, flags={"gpu_layers": "20"})
    out = compute_values({"alloc_mib": "15000"}, facts)
    assert out["suggested_gpu_layers"] == "9"
    assert out["layers_total"] == "32"
    assert out["current_gpu_layers"] == "20"


def test_suggested_layers_without_free_memory_uses_the_failed_request():
    # tgwui#5415: 7825.94 MiB failed for a 24.62 GiB, 32-layer model: the GPU had less than that free.
    facts = _facts("text-generation-webui", numbers={"model_mib": 24.62 * 1024, "n_layer": 32})
    out = compute_values({"alloc_mib": "7825.94"}, facts)
    assert out["suggested_gpu_layers"] == "8"


def test_suggested_layers_never_exceeds_what_failed():
    facts = _facts("koboldcpp", numbers={"model_mib": 4000, "n_layer": 40, "free_vram_mib": 24000}, flags={"gpu_layers": "12"})
    out = compute_values({"alloc_mib": "30000"}, facts)
    assert out["suggested_gpu_layers"] == "11"


def test_suggested_layers_ngl_999_means_all_layers():
    facts = _facts("llama.cpp", numbers={"model_mib": 6400, "n_layer": 32, "free_vram_mib": 4096}, flags={"gpu_layers": "999"})
    out = compute_values({"alloc_mib": "6300"}, facts)
    assert out["suggested_gpu_layers"] == "15"  # (4096-1024)/200


def test_suggested_layers_from_ollama_estimate():
    # Ollama: layers.model=33, memory.available 4.6 GiB, weights 34.9 GiB.
    facts = _facts("ollama", numbers={"layers_total": 33, "layers_offloaded": 10, "free_vram_mib": 4.6 * 1024, "weights_mib": 34.9 * 1024})
    out = compute_values({}, facts)
    assert out["suggested_gpu_layers"] == "3"


def test_suggested_layers_halves_when_sizes_unknown():
    out = compute_values({}, _facts("llama.cpp", flags={"gpu_layers": "40"}))
    assert out["suggested_gpu_layers"] == "20"
    assert "suggested_gpu_layers" not in compute_values({}, _facts("llama.cpp"))


def test_kv_per_1k_and_suggested_ctx_from_huge_kv_allocation():
    # llama.cpp#8101: n_ctx 1048576 -> 137438953504-byte KV buffer on the CPU.
    facts = _facts("llama.cpp", numbers={"n_ctx": 1048576})
    out = compute_values({"kv_alloc_bytes": "137438953504"}, facts)
    assert out["kv_size"] == "128.0 GiB"
    assert out["kv_per_1k_ctx"] == "128 MiB"
    assert out["requested_mib"] == "128.0 GiB"
    assert out["suggested_ctx"] == "8192"
    assert out["suggested_kv_size"] == "1.0 GiB"


def test_suggested_ctx_fits_the_free_memory():
    # 4 GiB KV for 32768 tokens (128 MiB per 1K), 3 GiB free -> budget 1.5 GiB -> 12288 -> 8192.
    facts = _facts("llama.cpp", numbers={"kv_mib": 4096, "n_ctx": 32768, "free_vram_mib": 3072})
    out = compute_values({}, facts)
    assert out["suggested_ctx"] == "8192"
    facts = _facts("llama.cpp", numbers={"kv_mib": 4096, "n_ctx": 32768, "free_vram_mib": 7000})
    out = compute_values({}, facts)
    assert out["suggested_ctx"] == "16384"


def test_suggested_ctx_uses_the_shortfall_of_a_failed_request():
    # KV 2048 MiB at 16384 tokens; request 3000 MiB failed with 2000 free: 1000 short.
    facts = _facts("llama.cpp", numbers={"kv_mib": 2048, "n_ctx": 16384, "free_vram_mib": 2000})
    out = compute_values({"alloc_mib": "3000"}, facts)
    assert out["suggested_ctx"] == "4096"  # (2048-1000-256)/128*1024 = 6336 -> 4096


def test_ollama_num_ctx_is_per_parallel_slot():
    facts = _facts("ollama", numbers={"kv_mib": 8192, "n_ctx": 65536, "free_vram_mib": 8192}, flags={"parallel": "4"})
    out = compute_values({}, facts)
    assert out["suggested_ctx"] == "8192"  # 4096 MiB budget = 32768 tokens over 4 slots
    assert out["suggested_kv_size"] == "4.0 GiB"  # 4 slots x 8192 tokens x 128 MiB per 1K


def test_ctx_divisor_when_context_length_unknown():
    # ollama#6283: KV 31.2 GiB, 4.6 GiB available, no n_ctx in the excerpt.
    facts = _facts("ollama", numbers={"kv_mib": 31.2 * 1024, "free_vram_mib": 4.6 * 1024})
    out = compute_values({}, facts)
    assert out["kv_size"] == "31.2 GiB"
    assert out["ctx_divisor"] == "16"
    assert "suggested_ctx" not in out


def test_large_ctx_without_memory_figures_suggests_8192():
    out = compute_values({}, _facts("llama.cpp", flags={"ctx_size": "131072"}))
    assert out["suggested_ctx"] == "8192"
    assert "suggested_ctx" not in compute_values({}, _facts("llama.cpp", flags={"ctx_size": "4096"}))


def test_system_memory_shortfall():
    out = compute_values({"required_mem": "164.8 GiB", "available_mem": "13.4 GiB"}, _facts("ollama"))
    assert out["mem_shortfall"] == "151.4 GiB"
    out = compute_values({"required_mem": "615.4 MiB", "available_mem": "415.9 MiB"}, _facts("ollama"))
    assert out["mem_shortfall"] == "200 MiB"
    assert "mem_shortfall" not in compute_values({"required_mem": "1 GiB"}, _facts("ollama"))


def test_existing_names_still_work():
    out = compute_values({"gfx": "gfx1031", "winerror": "126", "instruction": "vfmadd231ps", "device_arch": "610"}, _facts())
    assert out["hsa_override"] == "10.3.0"
    assert out["missing_isa"] == "FMA"
    assert "could not be found" in out["winerror_meaning"]
    assert out["device_cc"] == "6.1" and out["cmake_arch"] == "61"
    old = compute_values({}, _facts(gpus=[Gpu(name="GTX 750 Ti", compute_capability="5.0", backend="cuda")]))
    assert old["old_gpu"] == "GTX 750 Ti"


def test_endpoint_joins_host_and_port_or_names_what_is_there():
    assert compute_values({"host": "127.0.0.1", "port": "11434"}, _facts())["endpoint"] == "127.0.0.1:11434"
    assert compute_values({"host": "host.docker.internal"}, _facts())["endpoint"] == "host.docker.internal"
    assert compute_values({"port": "1234"}, _facts())["endpoint"] == "port 1234"
    assert "endpoint" not in compute_values({}, _facts())


def test_godot_result_number_reads_as_the_error_it_stands_for():
    assert "TIMEOUT" in compute_values({"godot_result": "13"}, _facts())["os_error"]
    assert "CANT_CONNECT" in compute_values({"godot_result": "2"}, _facts())["os_error"]
    assert "os_error" not in compute_values({"godot_result": "7"}, _facts())  # the server was reached: no meaning


def test_godot_timeout_report_says_timeout_not_refused():
    log = (b"ERROR: core/variant/variant_utility.cpp:1024 - Something went wrong with last AI API call: "
           b"http://localhost/api/tags\nERROR: core/variant/variant_utility.cpp:1024 - HTTP response: Result: 13, "
           b"Response Code: 0, Headers: [], Body: []\n")
    match = shared_engine().analyse(log).matches[0]
    assert match.kb_id == "client-cannot-reach-server"
    assert "TIMEOUT" in match.root_cause and "connection refused" not in match.root_cause
