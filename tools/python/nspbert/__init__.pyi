# Type stubs for the nspbert package (tools/python/nspbert/__init__.py documents each method).
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class Error(RuntimeError):
    exit_code: int

class UsageError(Error): ...
class ModelError(Error): ...
class InputError(Error): ...
class InternalError(Error): ...

_Path = Union[str, os.PathLike[str]]
_Texts = Union[str, Iterable[Union[str, Dict[str, Any]]]]
_Ids = npt.ArrayLike

class BlockScorer:
    def score(self, block: bytes, first_line: int) -> List[Tuple[int, str, bool]]: ...

class Model:
    path: str
    def __init__(self, path: _Path, threads: Optional[int] = ..., precision: str = ...,
                 attention_window: Optional[int] = ..., logn_scale: Union[None, bool, float] = ...,
                 hwfa: bool = ...) -> None: ...
    @property
    def info(self) -> Dict[str, Any]: ...
    def tokenize(self, text: str, text_b: Optional[str] = ..., max_length: Optional[int] = ...,
                 truncation: str = ..., special_tokens: bool = ...) -> Dict[str, Any]: ...
    def forward(self, input_ids: _Ids, token_type_ids: Optional[_Ids] = ..., attention_mask: Optional[_Ids] = ...,
                position_ids: Optional[_Ids] = ..., outputs: Optional[Sequence[str]] = ...,
                mlm_positions: Optional[Sequence[Tuple[int, int]]] = ..., window: Optional[int] = ...,
                logn_base: Optional[float] = ...) -> Dict[str, Any]: ...
    def classify(self, texts: _Texts, labels: Sequence[str], template: Union[str, Sequence[str]],
                 position: str = ..., max_length: Optional[int] = ..., top_k: Optional[int] = ...,
                 normalize: bool = ..., combine: Optional[str] = ..., calibrate: bool = ...,
                 scorer: Optional[str] = ..., text_field: str = ..., chunk_size: int = ...,
                 rescore_top: Optional[int] = ..., rescore_margin: Optional[float] = ...) -> List[Dict[str, Any]]: ...
    def score(self, task: Union[_Path, Dict[str, Any]], records: Union[_Path, Iterable[Any]],
              thresholds: Union[None, _Path, Dict[str, Any]] = ..., fit_on: Optional[str] = ...,
              save_thresholds: Optional[str] = ..., template: Union[None, str, Sequence[str]] = ...,
              position: Optional[str] = ..., max_length: Optional[int] = ..., top_k: Optional[int] = ...,
              normalize: bool = ..., combine: Optional[str] = ..., calibrate: bool = ...,
              scorer: Optional[str] = ..., chunk_size: int = ..., rescore_top: Optional[int] = ...,
              rescore_margin: Optional[float] = ...) -> Iterator[Dict[str, Any]]: ...
    def block_scorer(self, task: Union[_Path, Dict[str, Any]], thresholds: Union[None, _Path, Dict[str, Any]] = ...,
                     template: Union[None, str, Sequence[str]] = ..., position: Optional[str] = ...,
                     max_length: Optional[int] = ..., top_k: Optional[int] = ..., normalize: bool = ...,
                     combine: Optional[str] = ..., calibrate: bool = ..., scorer: Optional[str] = ...,
                     chunk_size: int = ..., rescore_top: Optional[int] = ...,
                     rescore_margin: Optional[float] = ...) -> BlockScorer: ...
    def evaluate(self, task: Union[_Path, Dict[str, Any]], records: Union[_Path, Iterable[Any]],
                 thresholds: Union[None, _Path, Dict[str, Any]] = ..., fit_on: Optional[str] = ...,
                 template: Union[None, str, Sequence[str]] = ..., position: Optional[str] = ...,
                 max_length: Optional[int] = ..., combine: Optional[str] = ..., calibrate: bool = ...,
                 scorer: Optional[str] = ..., chunk_size: int = ..., rescore_top: Optional[int] = ...,
                 rescore_margin: Optional[float] = ...) -> Dict[str, Any]: ...
    def embed(self, texts: Union[str, Iterable[str]], pooling: str = ..., normalize: bool = ...,
              max_length: Optional[int] = ..., overlength: str = ...) -> npt.NDArray[np.float32]: ...
    def rank(self, query: str, texts: Union[str, Iterable[str]], distance: str = ..., k: int = ...,
             pooling: str = ..., top: Optional[int] = ..., max_length: Optional[int] = ...,
             overlength: str = ...) -> List[Dict[str, Any]]: ...
    def pair_score(self, pairs: Iterable[Union[Tuple[str, str], Dict[str, str]]], truncation: str = ...,
                   a_field: str = ..., b_field: str = ..., max_length: Optional[int] = ...,
                   overlength: str = ...) -> List[Dict[str, Any]]: ...

def compare_norms(models: Union[_Path, Sequence[_Path]], texts: Union[str, Iterable[str]],
                  max_length: Optional[int] = ..., norm_placement: Optional[str] = ...,
                  residual_scale: Union[None, float, str] = ..., depth_threshold: float = ...,
                  threads: Optional[int] = ..., chunk: int = ..., plot: Optional[str] = ...) -> Dict[str, Any]: ...
