"""Assembling the embedded model from chunk packages, and refusing a file that fails its hash."""

import hashlib
import platform

import pytest

from imr_llm.embedded import ModelFile, assemble
from imr_llm.errors import EmbeddedModelError

CHUNKS = [b"GGUF" + bytes(range(200)), bytes(1000), b"tail-bytes"]


@pytest.fixture
def chunk_packages(tmp_path, monkeypatch):
    """Three importable packages `fakemodel_partN` holding `data/partNN.bin`, like the real ones."""
    for n, data in enumerate(CHUNKS, start=1):
        pkg = tmp_path / "site" / f"fakemodel_part{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(CHUNKS)
    return ModelFile("fake", "fakemodel_part", 3, len(whole), hashlib.sha256(whole).hexdigest())


def test_chunks_join_in_order_and_verify(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "cache")
    assert path.read_bytes() == b"".join(CHUNKS)
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert assemble(chunk_packages, tmp_path / "cache") == path  # second use: verified, not rebuilt


def test_a_tampered_file_is_refused_and_removed(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "cache")
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    with pytest.raises(EmbeddedModelError, match="failed verification"):
        assemble(chunk_packages, tmp_path / "cache")
    assert not path.exists()
    assert assemble(chunk_packages, tmp_path / "cache").read_bytes() == b"".join(CHUNKS)  # rebuilt


def test_a_missing_chunk_says_how_to_install(tmp_path):
    missing = ModelFile("absent", "no_such_chunk_part", 2, 10, "0" * 64)
    with pytest.raises(EmbeddedModelError, match=r"pip install 'imr-llm\[embedded\]'"):
        assemble(missing, tmp_path)


NATIVE_ONLY = ("AVX512", "AMX", "AVX_VNNI", "AVX512_BF16")
"""CPU features a `-march=native` build may enable that many x86-64 machines lack (or forbid)."""


def test_the_installed_llama_cpp_build_runs_on_any_avx2_machine():
    """The README's and CI's install builds llama.cpp without native CPU flags: a build that uses
    AVX-512 or AMX crashes on machines (and VMs) without them, as it did on a fresh VM."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="the embedded extra is not installed")
    info = llama_cpp.llama_print_system_info().decode()
    enabled = {
        name.strip() for name, _, value in (part.partition("=") for part in info.split("|")) if value.strip() == "1"
    }
    if platform.machine() in ("x86_64", "AMD64"):
        assert "AVX2" in enabled, info
        assert not [f for f in enabled if f.split(": ")[-1].startswith(NATIVE_ONLY)], info
