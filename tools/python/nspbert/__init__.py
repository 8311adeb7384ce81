"""nspbert: BERT-family encoders on the CPU and NSP-BERT zero-shot classification, from Python.

The engine is the C++ library the ``nspbert`` command-line tool links (extension module
``nspbert._nspbert``); this package checks arguments, converts them and documents the API. Every
method gives what the matching CLI command prints, as Python objects:

>>> import nspbert
>>> m = nspbert.Model("tests/data/fixtures/models/bert-zh-tiny")
>>> m.classify(["梅西超越贝利成为南美射手王"], labels=["体育", "财经"], template="这是一则{label}新闻")
[{'text': '梅西超越贝利成为南美射手王', 'label': '体育', 'scores': [...]}]

Threads: the GIL is released while the engine runs. One Model may be used from several Python
threads at once (the encoder keeps its working memory per thread); iterators returned by
``Model.score`` must each stay on one thread. ``threads=`` sets the OpenMP team size of every call.

Errors raise ``nspbert.Error`` (a RuntimeError); its subclasses follow the CLI's exit codes:
``UsageError`` (2), ``ModelError`` (3), ``InputError`` (3), ``InternalError`` (4), each with the
one-line message the CLI prints after ``nspbert: error:``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _nspbert
from ._nspbert import Error, InputError, InternalError, ModelError, UsageError

__all__ = ["Model", "compare_norms", "Error", "UsageError", "ModelError", "InputError", "InternalError"]
__version__ = "0.1"

_INT32 = (np.iinfo(np.int32).min, np.iinfo(np.int32).max)
_OUTPUTS = ("last_hidden_state", "pooled", "nsp_logits", "nsp_prob_is_next", "classifier_logits", "stream_stats")


def _path(value: Any, what: str) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{what} must be a path, not {type(value).__name__}")
    return os.fspath(value)


def _int_matrix(value: Any, name: str, dtype: type, lo: int, hi: int, shape: Optional[Tuple[int, int]] = None,
                allow_bool: bool = False) -> np.ndarray:
    """An integer array-like as a C-ordered 2-D array of `dtype`; one row may be given as 1-D."""
    try:
        a = np.asarray(value)
    except ValueError as e:  # NumPy >= 1.24 refuses ragged nested lists
        raise InputError(f"'{name}' rows have different lengths ({e})") from None
    if a.dtype == object:
        raise InputError(f"'{name}' must be a [batch][length] (2-D) array of integers, not of objects (rows of different lengths?)")
    if a.ndim == 1:
        a = a[np.newaxis, :]
    if a.ndim != 2:
        raise InputError(f"'{name}' must be [batch][length] (2-D), not {a.ndim}-D with shape {a.shape}")
    if a.size == 0:
        raise InputError(f"'{name}' must be a non-empty array of rows")
    if a.dtype.kind == "b" and allow_bool:
        a = a.astype(np.uint8)
    if a.dtype.kind not in "iu":
        raise InputError(f"'{name}' must hold integers, not {a.dtype}")
    low, high = int(a.min()), int(a.max())
    if low < lo or high > hi:
        bad = low if low < lo else high
        raise InputError(f"'{name}' holds {bad}, which is out of range [{lo}, {hi}]")
    if shape is not None and a.shape != shape:
        raise InputError(f"'{name}' has shape {a.shape}, not the shape of 'input_ids' {shape}")
    return np.ascontiguousarray(a, dtype=dtype)


def _texts(texts: Any, what: str = "texts") -> List[Any]:
    """A str, or any iterable (list, tuple, pandas Series, generator) of records."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, dict):
        return [texts]
    try:
        return list(texts)
    except TypeError:
        raise UsageError(f"{what} must be a string or an iterable of strings, not {type(texts).__name__}") from None


def _strings(texts: Any, what: str = "texts") -> List[str]:
    out = _texts(texts, what)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"{what}[{i}] is {type(t).__name__}, not a string")
    return out


def _scoring(template: Any, position: Optional[str], max_length: Optional[int], combine: Optional[str],
             calibrate: bool, scorer: Optional[str], top_k: Optional[int], normalize: bool,
             chunk_size: int, rescore_top: Optional[int] = None,
             rescore_margin: Optional[float] = None) -> Dict[str, Any]:
    if isinstance(template, str):
        template = [template]
    for name, v in (("max_length", max_length), ("top_k", top_k), ("chunk_size", chunk_size)):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1):
            raise UsageError(f"{name} must be a positive integer, not {v!r}")
    if max_length is not None and max_length < 3:
        raise UsageError(f"max_length {max_length} cannot hold [CLS] A [SEP] B [SEP]")
    # Values are checked by the library, with the CLI's messages; only the types here.
    if rescore_top is not None and (not isinstance(rescore_top, (int, np.integer)) or isinstance(rescore_top, bool)):
        raise UsageError(f"rescore_top must be an integer, not {rescore_top!r}")
    if rescore_margin is not None and (not isinstance(rescore_margin, (int, float, np.number))
                                       or isinstance(rescore_margin, bool)):
        raise UsageError(f"rescore_margin must be a number, not {rescore_margin!r}")
    return dict(templates=list(template) if template else None, position=position, max_length=max_length,
                combine=combine, calibrate=bool(calibrate), scorer=scorer, top_k=top_k, normalize=bool(normalize),
                chunk_size=chunk_size, rescore_top=None if rescore_top is None else int(rescore_top),
                rescore_margin=None if rescore_margin is None else float(rescore_margin))


class Model(_nspbert.Model):
    """A model folder (config.json, weights, vocab.txt) loaded once.

    Args:
        path: the Hugging Face style folder, as ``nspbert --model``.
        threads: OpenMP threads per call (default: every core), as ``--threads``.
        precision: ``"f32"`` (exact), ``"bf16"`` or ``"int8"``, as ``--precision``.
        attention_window: local attention, token i sees j only when |i-j| <= W (``--attention-window``).
        logn_scale: ``True`` or the training length M: scale attention logits by max(1, log_M n)
            (``--logn-scale [M]``).
        hwfa: window attention in all but the last layer (``--hwfa``).

    Raises ModelError for a folder nspbert cannot use, UsageError for a bad precision.
    """

    def __init__(self, path: Union[str, os.PathLike], threads: Optional[int] = None, precision: str = "f32",
                 attention_window: Optional[int] = None, logn_scale: Union[None, bool, float] = None,
                 hwfa: bool = False) -> None:
        if threads is not None and (not isinstance(threads, int) or threads < 0 or threads > 1024):
            raise UsageError(f"threads must be an integer in 0..1024, not {threads!r}")
        if attention_window is not None and (not isinstance(attention_window, int) or attention_window < 1):
            raise UsageError(f"attention_window must be a positive integer, not {attention_window!r}")
        logn = logn_scale is not None and logn_scale is not False
        base = 0.0 if logn_scale is None or isinstance(logn_scale, bool) else float(logn_scale)
        if logn and base != 0.0 and not base > 1:
            raise UsageError("logn_scale: the training length m must be a number greater than 1")
        super().__init__(_path(path, "path"), threads or 0, precision, attention_window or 0, logn, base, bool(hwfa))
        self.path = os.fspath(path)

    @property
    def info(self) -> Dict[str, Any]:
        """What ``nspbert inspect --format json`` prints: family, sizes, norms, heads, dtype, threads."""
        return self._info

    def __repr__(self) -> str:
        i = self.info
        return f"nspbert.Model({self.path!r}: {i['family']}, {i['layers']} layers, hidden {i['hidden_size']})"

    def tokenize(self, text: str, text_b: Optional[str] = None, max_length: Optional[int] = None,
                 truncation: str = "nsp", special_tokens: bool = True) -> Dict[str, Any]:
        """Tokens, ids, type ids and byte offsets of ``[CLS] text [SEP] (text_b [SEP])``.

        ``max_length`` cuts the pair by ``truncation`` (``"nsp"``: the longer segment loses its last
        token, ties from A; ``"longest-first"``: Hugging Face's rule). ``special_tokens=False``
        gives the bare tokenizer output (no ``type_ids``), as ``nspbert tokenize`` without flags.
        Offsets are byte offsets into the UTF-8 text; special tokens get (0, 0).
        """
        if truncation not in ("nsp", "longest-first"):
            raise UsageError(f"truncation must be 'nsp' or 'longest-first', not {truncation!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise UsageError(f"max_length must be a positive integer, not {max_length!r}")
        return self._tokenize(text, text_b, max_length if max_length is not None else 2**62, truncation,
                              bool(special_tokens))

    def forward(self, input_ids: Any, token_type_ids: Any = None, attention_mask: Any = None,
                position_ids: Any = None, outputs: Optional[Sequence[str]] = None,
                mlm_positions: Optional[Sequence[Tuple[int, int]]] = None, window: Optional[int] = None,
                logn_base: Optional[float] = None) -> Dict[str, Any]:
        """Run the encoder on token ids; what ``nspbert forward`` prints, as float32 arrays.

        Inputs are integer array-likes of shape [batch, length] (one row may be 1-D);
        ``attention_mask`` may be boolean. ``outputs`` picks from ``last_hidden_state`` [B, T, H]
        (padded rows zero), ``pooled`` [B, H], ``nsp_logits`` [B, 2], ``nsp_prob_is_next`` [B],
        ``classifier_logits`` [B, C] and ``stream_stats`` (per-layer float64 arrays); the default
        is the last hidden state and every head the checkpoint has. ``mlm_positions`` [(b, t), ...]
        adds ``mlm_log_probs`` [M, vocab]. ``window`` / ``logn_base`` are the request options of
        ``nspbert forward``. The arrays own the engine's buffers (no copy) and outlive the Model.

        Raises InputError for ids outside the vocabulary, segments past ``type_vocab_size``,
        positions past the table, ragged or 3-D inputs, non-integer dtypes, a row with no attended
        token; ModelError when an output's head is missing.
        """
        ids = _int_matrix(input_ids, "input_ids", np.int32, *_INT32)
        types = None if token_type_ids is None else _int_matrix(token_type_ids, "token_type_ids", np.int32, *_INT32, shape=ids.shape)
        mask = None if attention_mask is None else _int_matrix(attention_mask, "attention_mask", np.uint8, 0, 1, shape=ids.shape, allow_bool=True)
        pos = None if position_ids is None else _int_matrix(position_ids, "position_ids", np.int64, 0, 2**31, shape=ids.shape)
        if outputs is None:
            heads = self.info["heads"]
            outputs = ["last_hidden_state"] + [o for h, o in (("pooler", "pooled"), ("nsp", "nsp_logits"),
                                                              ("classifier", "classifier_logits")) if h in heads]
        elif isinstance(outputs, str):
            outputs = [outputs]
        for o in outputs:
            if o not in _OUTPUTS:
                raise UsageError(f"unknown output {o!r}; choose from {', '.join(_OUTPUTS)}")
        mlm = []
        for pair in mlm_positions or []:
            if len(pair) != 2 or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in pair):
                raise InputError("'mlm_positions' entries must be [batch, position] integer pairs")
            mlm.append((int(pair[0]), int(pair[1])))
        if window is not None and (not isinstance(window, int) or window < 1):
            raise InputError("'options.window' must be a positive integer")
        if logn_base is not None and not float(logn_base) > 1:
            raise InputError("'options.logn_base' must be a number greater than 1")
        return self._forward(ids, types, mask, pos, list(outputs), mlm, window or 0, float(logn_base or 0))

    def classify(self, texts: Any, labels: Sequence[str], template: Union[str, Sequence[str]],
                 position: str = "prefix", max_length: Optional[int] = None, top_k: Optional[int] = None,
                 normalize: bool = False, combine: Optional[str] = None, calibrate: bool = False,
                 scorer: Optional[str] = None, text_field: str = "text", chunk_size: int = 256,
                 rescore_top: Optional[int] = None, rescore_margin: Optional[float] = None) -> List[Dict[str, Any]]:
        """NSP-BERT zero-shot classification: one prompt per label against each text.

        Returns one dict per text, the objects ``nspbert classify --format jsonl`` prints:
        ``{"text", "label", "scores": [{"label", "prob_is_next", "logit_gap", "score"}, ...]}``
        (``"id"`` when the record has one; ``{"line", "error"}`` for a record that cannot be used).

        Args:
            texts: a string, or an iterable of strings (a list, a pandas Series) or of dicts
                (JSONL records with ``text_field`` and optionally ``"id"``).
            labels: the label words put into the template.
            template: a prompt with ``{label}``, or several (combined by ``combine``).
            position: ``"prefix"`` (the prompt is segment A) or ``"suffix"``.
            max_length: tokens per pair (default 128). top_k: only the k best labels, best first.
            normalize: add ``probability`` (softmax of the scores over the labels).
            combine: ``"mean"`` or ``"logsumexp"`` over templates. calibrate: contextual calibration.
            scorer: ``"nsp"`` (default) or ``"mlm"`` (PET-style, for checkpoints without NSP).
            chunk_size: texts scored per encoder batch (``--chunk-size``).
            rescore_top: the cascade (``--rescore-top``): on a bf16/int8 model, score the k best
                labels of each text again with an f32 copy of the model (loaded by the first call
                that asks, then kept with this Model) and predict the best of them.
            rescore_margin: re-score only texts whose best-minus-second score is below it
                (``--rescore-margin``).
        """
        if isinstance(labels, str):
            raise UsageError("labels must be a list of label words, not one string")
        kw = _scoring(template, position, max_length, combine, calibrate, scorer, top_k, normalize, chunk_size,
                      rescore_top, rescore_margin)
        kw["text_field"] = text_field
        return self._classify(_texts(texts), [str(x) for x in labels], kw)

    def score(self, task: Union[str, os.PathLike, Dict[str, Any]], records: Union[str, os.PathLike, Iterable[Any]],
              thresholds: Union[None, str, os.PathLike, Dict[str, Any]] = None, fit_on: Optional[str] = None,
              save_thresholds: Optional[str] = None, template: Union[None, str, Sequence[str]] = None,
              position: Optional[str] = None, max_length: Optional[int] = None, top_k: Optional[int] = None,
              normalize: bool = False, combine: Optional[str] = None, calibrate: bool = False,
              scorer: Optional[str] = None, chunk_size: int = 256, rescore_top: Optional[int] = None,
              rescore_margin: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """Stream records through a task spec; yields what ``nspbert score`` prints, line by line.

        ``task`` is a spec file (``tools/tasks/*.json``) or the same as a dict; ``records`` an
        iterable of dicts (JSONL objects) or a JSONL path. Records are read and scored
        ``chunk_size`` at a time, lazily. Samples-contrast tasks without ``thresholds`` (a file
        from ``--save-thresholds`` or its dict) or ``fit_on`` (a labelled JSONL path) read every
        record before the first result (equal-size bins). The other keywords override the spec
        as the CLI flags do. Ctrl-C raises KeyboardInterrupt after the chunk in flight.
        ``rescore_top``/``rescore_margin`` are the cascade, as ``--rescore-top``/``--rescore-margin``
        (samples-contrast: ``rescore_margin`` with ``thresholds`` or ``fit_on``).
        """
        kw = _scoring(template, position, max_length, combine, calibrate, scorer, top_k, normalize, chunk_size,
                      rescore_top, rescore_margin)
        if isinstance(records, os.PathLike):
            records = os.fspath(records)
        if isinstance(thresholds, os.PathLike):
            thresholds = os.fspath(thresholds)
        task = os.fspath(task) if isinstance(task, os.PathLike) else task
        return self._score(task, records, thresholds, fit_on or "", save_thresholds or "", kw)

    def block_scorer(self, task: Union[str, os.PathLike, Dict[str, Any]],
                     thresholds: Union[None, str, os.PathLike, Dict[str, Any]] = None,
                     template: Union[None, str, Sequence[str]] = None, position: Optional[str] = None,
                     max_length: Optional[int] = None, top_k: Optional[int] = None, normalize: bool = False,
                     combine: Optional[str] = None, calibrate: bool = False, scorer: Optional[str] = None,
                     chunk_size: int = 256, rescore_top: Optional[int] = None,
                     rescore_margin: Optional[float] = None) -> Any:
        """A scorer of raw JSONL blocks for one task: ``.score(block: bytes, first_line: int)`` returns
        ``[(input_line, output_line, failed)]``, each output line the exact text ``nspbert score``
        writes for that input line (error lines, ``failed``, numbered from ``first_line``). For cutting one file into
        partitions (``nspbert.distributed``); samples-contrast tasks need ``thresholds``."""
        kw = _scoring(template, position, max_length, combine, calibrate, scorer, top_k, normalize, chunk_size,
                      rescore_top, rescore_margin)
        task = os.fspath(task) if isinstance(task, os.PathLike) else task
        thresholds = os.fspath(thresholds) if isinstance(thresholds, os.PathLike) else thresholds
        return self._block_scorer(task, thresholds, kw)

    def evaluate(self, task: Union[str, os.PathLike, Dict[str, Any]], records: Union[str, os.PathLike, Iterable[Any]],
                 thresholds: Union[None, str, os.PathLike, Dict[str, Any]] = None, fit_on: Optional[str] = None,
                 template: Union[None, str, Sequence[str]] = None, position: Optional[str] = None,
                 max_length: Optional[int] = None, combine: Optional[str] = None, calibrate: bool = False,
                 scorer: Optional[str] = None, chunk_size: int = 256, rescore_top: Optional[int] = None,
                 rescore_margin: Optional[float] = None) -> Dict[str, Any]:
        """Accuracy, macro-F1, per-label P/R/F1 and the confusion matrix of a task on labelled
        records: the object ``nspbert eval --format json`` prints. Arguments as ``score``."""
        kw = _scoring(template, position, max_length, combine, calibrate, scorer, None, False, chunk_size,
                      rescore_top, rescore_margin)
        if isinstance(records, os.PathLike):
            records = os.fspath(records)
        task = os.fspath(task) if isinstance(task, os.PathLike) else task
        thresholds = os.fspath(thresholds) if isinstance(thresholds, os.PathLike) else thresholds
        return self._evaluate(task, records, thresholds, fit_on or "", kw)

    def embed(self, texts: Any, pooling: str = "mean", normalize: bool = False, max_length: Optional[int] = None,
              overlength: str = "truncate") -> np.ndarray:
        """Sentence vectors, float32 [N, hidden], the ``embedding`` of ``nspbert embed`` per text.

        ``pooling``: ``"mean"`` (last hidden states over the text's tokens, [CLS]/[SEP] included),
        ``"cls"`` or ``"pooler"``. ``normalize`` scales rows to unit length. Texts past an
        absolute-position model's table are cut there (a warning says how many), or with
        ``overlength="error"`` raise InputError.
        """
        _length_args(max_length, overlength)
        return self._embed(_strings(texts), pooling, bool(normalize), max_length, overlength)

    def rank(self, query: str, texts: Any, distance: str = "cosine", k: int = 10, pooling: str = "mean",
             top: Optional[int] = None, max_length: Optional[int] = None, overlength: str = "truncate") -> List[Dict[str, Any]]:
        """Texts ordered by distance to ``query``, nearest first: ``nspbert rank``'s objects
        ``{"text", "line", "distance", "score"}`` (``line`` 1-based; distance/score None when the
        geodesic graph has no path). ``distance``: ``"cosine"`` or ``"geodesic"`` over the
        k-nearest-neighbour graph; ``top`` keeps the best N."""
        _length_args(max_length, overlength)
        if top is not None and (not isinstance(top, int) or top < 1):
            raise UsageError(f"top must be a positive integer, not {top!r}")
        return self._rank(query, _strings(texts), distance, int(k), pooling, top or 0, max_length, overlength)

    def pair_score(self, pairs: Iterable[Union[Tuple[str, str], Dict[str, str]]], truncation: str = "longest-first",
                   a_field: str = "sentence1", b_field: str = "sentence2", max_length: Optional[int] = None,
                   overlength: str = "truncate") -> List[Dict[str, Any]]:
        """Cross-encoder scores of (a, b) pairs through a sequence-classification head:
        ``nspbert pair-score``'s objects ``{"a", "b", "logits", "score", "probability"}``. Pairs are
        2-tuples or dicts with ``a_field``/``b_field``. ModelError without a 1- or 2-output head."""
        _length_args(max_length, overlength)
        if truncation not in ("nsp", "longest-first"):
            raise UsageError(f"truncation must be 'nsp' or 'longest-first', not {truncation!r}")
        converted = []
        for i, p in enumerate(_texts(pairs, "pairs")):
            if isinstance(p, dict):
                p = (p.get(a_field), p.get(b_field))
            if not (isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(x, str) for x in p)):
                raise InputError(f"pairs[{i}] must be two strings or a dict with string '{a_field}' and '{b_field}'")
            converted.append((p[0], p[1]))
        return self._pair_score(converted, truncation, max_length, overlength)


def _length_args(max_length: Optional[int], overlength: str) -> None:
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1):
        raise UsageError(f"max_length must be a positive integer, not {max_length!r}")
    if overlength not in ("truncate", "error"):
        raise UsageError(f"overlength must be 'truncate' or 'error', not {overlength!r}")


def compare_norms(models: Union[str, Sequence[str]], texts: Any, max_length: Optional[int] = None,
                  norm_placement: Optional[str] = None, residual_scale: Union[None, float, str] = None,
                  depth_threshold: float = 0.9, threads: Optional[int] = None, chunk: int = 256,
                  plot: Optional[str] = None) -> Dict[str, Any]:
    """How Pre-Norm and Post-Norm models use their depth: the object ``nspbert compare-norms
    --format json`` prints (per model: per-layer ``stream_stats``, ``effective_depth``), over
    ``texts`` (strings; ``input`` reads ``"<N texts>"``). ``norm_placement`` and
    ``residual_scale`` (a number or ``"deepnorm"``) are the labelled ablations; ``plot`` writes
    the SVG chart."""
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    if max_length is not None and (not isinstance(max_length, int) or max_length < 2):
        raise UsageError(f"max_length must be an integer >= 2, not {max_length!r}")
    if not -1.0 <= float(depth_threshold) <= 1.0:
        raise UsageError("depth_threshold must be in [-1, 1]")
    scale = "" if residual_scale is None else str(residual_scale)
    return _nspbert._compare_norms([os.fspath(m) for m in models], _strings(texts), max_length or 0,
                                   norm_placement or "", scale, float(depth_threshold), threads or 0, int(chunk),
                                   plot or "")
