"""The trained second opinion: TF-IDF over character and word n-grams, linear models.

Trained by ``flask --app wsgi classifier train`` (scikit-learn) from
``config/classifier/train.jsonl`` only (the held-out file is for the report) and
shipped as ``config/classifier/model.npz`` (plain numpy arrays, no pickle) with the
SHA-256 of the data it learnt from. Inference needs numpy only: the vectorizers and
the logistic regressions are recomputed here exactly as scikit-learn computes them
(checked against scikit-learn on every training run). A model whose data hash differs from the
current training file is stale: it is not used (the rules decide alone) and a warning
is logged until it is retrained. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from config.settings import ROOT
from gateway.exceptions import StaleModelError
from normalizer.places import strip_places
from normalizer.text import canon, fold

DATA_DIR = ROOT / "config" / "classifier"
TRAIN_PATH = DATA_DIR / "train.jsonl"
HELDOUT_PATH = DATA_DIR / "heldout.jsonl"
MODEL_PATH = DATA_DIR / "model.npz"
FORMAT = 2
log = logging.getLogger(__name__)


def load_items(path: Path) -> list[dict[str, Any]]:
    """The labelled items of a JSON Lines file."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def data_hash(path: Path = TRAIN_PATH) -> str:
    """SHA-256 of the training file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def features_text(title: str, content: str) -> str:
    """What the model reads: title twice and content, addresses out, folded, lower-case."""
    return fold(canon(strip_places(f"{title}. {title}. {content}")))


def scope_label(item: dict[str, Any]) -> str:
    """in, needs_info, or out:<reason>."""
    return f"out:{item['reason']}" if item["scope"] == "out" else str(item["scope"])


def level_label(item: dict[str, Any]) -> str:
    """local (conduct or a local situation) or policy (a regulation or a proposal)."""
    return "policy" if item.get("type") in ("quy_dinh", "sang_kien") else "local"


@dataclass(frozen=True)
class Opinion:
    """The model's probabilities for one text."""

    scope: dict[str, float]  # in, needs_info, out:complaint, out:denunciation, out:legal_advice
    field: dict[str, float]
    local: float  # probability that the case is about conduct or a local situation

    @property
    def out(self) -> float:
        """Probability of any out-of-scope reason."""
        return sum(p for label, p in self.scope.items() if label.startswith("out:"))

    def best_field(self) -> tuple[str | None, float]:
        """The most probable field and its probability."""
        if not self.field:
            return None, 0.0
        code = max(self.field, key=lambda c: self.field[c])
        return code, self.field[code]


@dataclass(frozen=True)
class Vectorizer:
    """TF-IDF of one analyzer, as scikit-learn computes it (sublinear tf, idf, l2 norm)."""

    analyzer: str  # "char_wb" or "word"
    ngram: tuple[int, int]
    vocabulary: dict[str, int]
    idf: Any  # numpy array

    def terms(self, text: str) -> list[str]:
        """The n-grams scikit-learn's analyzer yields for ``text`` (already lower-case)."""
        low, high = self.ngram
        out: list[str] = []
        if self.analyzer == "char_wb":
            for word in _SPACES.sub(" ", text).split():
                padded = f" {word} "
                for n in range(low, high + 1):
                    offset = 0
                    out.append(padded[offset:offset + n])
                    while offset + n < len(padded):
                        offset += 1
                        out.append(padded[offset:offset + n])
                    if offset == 0:  # the word is shorter than n: counted once
                        break
            return out
        tokens = _WORD.findall(text)
        for n in range(low, high + 1):
            out += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        return out

    def transform(self, text: str) -> Any:
        """The l2-normalised TF-IDF vector of ``text``."""
        import numpy as np

        vector = np.zeros(len(self.vocabulary))
        for term in self.terms(text.lower()):
            index = self.vocabulary.get(term)
            if index is not None:
                vector[index] += 1.0
        used = vector > 0
        vector[used] = (1.0 + np.log(vector[used])) * self.idf[used]
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm else vector


@dataclass(frozen=True)
class Head:
    """A fitted logistic regression: classes, weights, intercepts."""

    classes: tuple[str, ...]
    coef: Any  # (k, n) numpy array; k = 1 for two classes
    intercept: Any

    def proba(self, x: Any) -> dict[str, float]:
        """Class probabilities, as ``LogisticRegression.predict_proba``."""
        import numpy as np

        z = self.coef @ x + self.intercept
        if len(self.classes) == 2:
            p = float(1.0 / (1.0 + np.exp(-z[0])))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        e = np.exp(z - z.max())
        return {c: float(v) for c, v in zip(self.classes, e / e.sum(), strict=True)}


@dataclass(frozen=True)
class Model:
    """Vectorizers and three heads, with the hash of their data. Needs only numpy to run."""

    vectorizers: tuple[Vectorizer, ...]
    heads: dict[str, Head]  # scope, field, level
    data_sha256: str
    trained_at: str
    sklearn_version: str
    counts: dict[str, int]

    def vector(self, title: str, content: str) -> Any:
        """The features of one text (the vectorizers' outputs side by side)."""
        import numpy as np

        text = features_text(title, content)
        return np.concatenate([v.transform(text) for v in self.vectorizers])

    def opinion(self, title: str, content: str) -> Opinion:
        """Probabilities for one text."""
        x = self.vector(title, content)
        return Opinion(scope=self.heads["scope"].proba(x), field=self.heads["field"].proba(x),
                       local=self.heads["level"].proba(x).get("local", 0.0))


_SPACES = re.compile(r"\s\s+")
_TOKEN_PATTERN = r"(?u)\b\w+\b"
_WORD = re.compile(_TOKEN_PATTERN)
CHARS, WORDS = ("char_wb", (2, 5)), ("word", (1, 2))


def train(items: list[dict[str, Any]], data_sha256: str) -> Model:
    """Fit the model on ``items`` with scikit-learn (seconds), keep what inference needs."""
    import numpy as np
    import sklearn
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    fitted = [TfidfVectorizer(analyzer=CHARS[0], ngram_range=CHARS[1], sublinear_tf=True, min_df=2),
              TfidfVectorizer(analyzer=WORDS[0], ngram_range=WORDS[1], sublinear_tf=True, min_df=1,
                              token_pattern=_TOKEN_PATTERN)]
    texts = [features_text(i["title"], i["content"]) for i in items]
    x = hstack([v.fit_transform(texts) for v in fitted]).tocsr()

    def head(rows: list[int], labels: list[str]) -> tuple[Head, Any]:
        fit = LogisticRegression(C=20.0, class_weight="balanced", max_iter=3000).fit(x[rows], labels)
        return Head(classes=tuple(str(c) for c in fit.classes_), coef=fit.coef_.astype(np.float32),
                    intercept=fit.intercept_.astype(np.float32)), fit

    everyone = list(range(len(items)))
    with_field = [n for n, i in enumerate(items) if i["scope"] == "in" and i.get("field")]
    in_scope = [n for n, i in enumerate(items) if i["scope"] == "in"]
    heads = {"scope": head(everyone, [scope_label(items[n]) for n in everyone]),
             "field": head(with_field, [str(items[n]["field"]) for n in with_field]),
             "level": head(in_scope, [level_label(items[n]) for n in in_scope])}
    vectorizers = tuple(
        Vectorizer(analyzer=str(v.analyzer), ngram=tuple(v.ngram_range), vocabulary={t: int(i) for t, i in
                   v.vocabulary_.items()}, idf=v.idf_.astype(np.float64)) for v in fitted)
    model = Model(vectorizers=vectorizers, heads={k: h for k, (h, _) in heads.items()}, data_sha256=data_sha256,
                  trained_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  sklearn_version=sklearn.__version__,
                  counts={"items": len(items), "with_field": len(with_field), "in_scope": len(in_scope)})
    for n in range(0, len(items), max(1, len(items) // 20)):  # our inference must be scikit-learn's
        mine = model.vector(items[n]["title"], items[n]["content"])
        if not np.allclose(mine, x[n].toarray()[0], atol=1e-6):
            raise RuntimeError(f"feature mismatch with scikit-learn on item {items[n]['id']}")
        for name, (ours, fit) in heads.items():
            theirs = dict(zip(fit.classes_, fit.predict_proba(x[n])[0], strict=True))
            if any(abs(ours.proba(mine)[c] - theirs[c]) > 1e-3 for c in ours.classes):
                raise RuntimeError(f"{name} probabilities differ from scikit-learn on item {items[n]['id']}")
    return model


def save(model: Model, path: Path = MODEL_PATH) -> int:
    """Write the artefact (compressed numpy arrays, no pickle); returns its size in bytes."""
    import numpy as np

    meta = {"format": FORMAT, "data_sha256": model.data_sha256, "trained_at": model.trained_at,
            "sklearn_version": model.sklearn_version, "counts": model.counts,
            "vectorizers": [{"analyzer": v.analyzer, "ngram": list(v.ngram)} for v in model.vectorizers],
            "heads": {name: list(h.classes) for name, h in model.heads.items()}}
    arrays: dict[str, Any] = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for n, v in enumerate(model.vectorizers):
        terms = sorted(v.vocabulary, key=lambda t: v.vocabulary[t])
        arrays[f"terms{n}"] = np.frombuffer("\n".join(terms).encode(), dtype=np.uint8)
        arrays[f"idf{n}"] = v.idf
    for name, h in model.heads.items():
        arrays[f"{name}_coef"], arrays[f"{name}_intercept"] = h.coef, h.intercept
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path.stat().st_size


def read(path: Path = MODEL_PATH) -> Model:
    """The artefact as written by :func:`save` (no hash check; numpy only, nothing executed)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        if meta.get("format") != FORMAT:
            raise StaleModelError(f"{path} is not a model of format {FORMAT}: retrain")
        vectorizers = []
        for n, spec in enumerate(meta["vectorizers"]):
            terms = data[f"terms{n}"].tobytes().decode().split("\n")
            vectorizers.append(Vectorizer(analyzer=spec["analyzer"], ngram=(spec["ngram"][0], spec["ngram"][1]),
                                          vocabulary={t: i for i, t in enumerate(terms)}, idf=data[f"idf{n}"]))
        heads = {name: Head(classes=tuple(classes), coef=data[f"{name}_coef"].astype(np.float64),
                            intercept=data[f"{name}_intercept"].astype(np.float64))
                 for name, classes in meta["heads"].items()}
    return Model(vectorizers=tuple(vectorizers), heads=heads, data_sha256=meta["data_sha256"],
                 trained_at=meta["trained_at"], sklearn_version=meta["sklearn_version"], counts=meta["counts"])


def check(model: Model, path: Path = TRAIN_PATH) -> None:
    """Raise :class:`StaleModelError` when ``model`` was not trained on the current training file."""
    current = data_hash(path)
    if model.data_sha256 != current:
        raise StaleModelError(f"the model was trained on data {model.data_sha256[:12]}…, the training file is now "
                         f"{current[:12]}…: run `flask --app wsgi classifier train`")


@lru_cache(maxsize=1)
def current() -> Model | None:
    """The shipped model if it matches the training data; None (rules only) otherwise."""
    try:
        model = read()
        check(model)
    except FileNotFoundError:
        log.warning("no classifier model at %s: the rules decide alone", MODEL_PATH)
        return None
    except Exception as exc:  # a stale, damaged or incompatible artefact must not stop routing
        log.warning("classifier model not used: %s", exc)
        return None
    return model
