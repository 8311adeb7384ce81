"""The package's surface: documented methods, type stubs beside the module, and the API shape."""
import inspect
import pydoc

from conftest import BUILD


def test_help_is_useful(nspbert):
    text = pydoc.render_doc(nspbert.Model.classify, renderer=pydoc.plaintext)
    assert "NSP-BERT zero-shot" in text and "top_k" in text and "template" in text
    for name in ("tokenize", "forward", "classify", "score", "evaluate", "embed", "rank", "pair_score"):
        assert len(inspect.getdoc(getattr(nspbert.Model, name)) or "") > 100, name
    assert inspect.getdoc(nspbert.compare_norms) and inspect.getdoc(nspbert)


def test_stubs_and_marker_are_installed_beside_the_module(nspbert):
    package = BUILD / "python" / "nspbert"
    stub = (package / "__init__.pyi").read_text()
    assert (package / "py.typed").exists()
    for name in ("class Model", "def classify", "def score", "def forward", "def compare_norms", "class InputError"):
        assert name in stub


def test_signatures_have_the_issue_shape(nspbert):
    forward = inspect.signature(nspbert.Model.forward).parameters
    assert list(forward)[:5] == ["self", "input_ids", "token_type_ids", "attention_mask", "position_ids"]
    init = inspect.signature(nspbert.Model.__init__).parameters
    assert init["threads"].default is None and init["precision"].default == "f32"
    assert list(inspect.signature(nspbert.Model.tokenize).parameters)[:4] == ["self", "text", "text_b", "max_length"]
