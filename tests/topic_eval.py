"""Topic labels: how right the topics are, and the fitting of the topic model.

  python -m tests.topic_eval              precision, recall and F1 per topic and overall against
                                          the tuning half, the held-out half, the unseen batch
                                          and, when ../shared/eval is there, the shared labels
                                          of the seeds
  python -m tests.topic_eval --errors     ... listing each wrong passage of the tuning half
  python -m tests.topic_eval fit          refit search/data/topic_model.json on the tuning half

A label names a passage by its report's file-name prefix and its first characters, as the
shared evaluation's topics-dev.jsonl does; topics are computed the way the indexer computes them.
The fit is checked by leave-one-report-out cross-validation on the tuning half before it is
written; the held-out half and the unseen batch are never fitted on.
"""
from __future__ import annotations

import argparse
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import topics
from search.index import document_topics
from search.ingest import Document, read_document

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "topics"
TUNE, HELD_OUT = LABELLED / "labels-tune.jsonl", LABELLED / "labels-held-out.jsonl"
# A second held-out batch, labelled before the classifier first ran on it.
UNSEEN = LABELLED / "labels-unseen.jsonl"
SHARED = ROOT.parent / "shared" / "eval" / "topics-dev.jsonl"
SEEDS = ROOT / "seeds"
# Ridge penalties tried; the fit keeps the one whose cross-validated F1 is best.
PENALTIES = (0.1, 0.3, 1.0, 3.0, 10.0)
THRESHOLDS = np.arange(0.30, 0.71, 0.05)


@dataclass(frozen=True)
class Label:
    """A labelled passage: its report (file-name prefix), its first characters, its topics."""
    doc: str
    starts: str
    topics: frozenset[str]


@dataclass(frozen=True)
class LabelSet:
    """Labels and the reports they label."""
    name: str
    labels: list[Label]
    documents: list[Document]

    @classmethod
    def load(cls, name: str, labels_file: Path, folder: Path) -> LabelSet:
        rows = [json.loads(line) for line in labels_file.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
        labels = [Label(r["doc"], _norm(r["passage_starts"]), frozenset(r["topics"]))
                  for r in rows if not r.get("furniture")]
        documents = [read_document(p, p.stem) for p in sorted(folder.iterdir())
                     if p.suffix in (".txt", ".md") and p.name != "README.md"
                     and any(p.stem.startswith(label.doc) for label in labels)]
        return cls(name, labels, documents)

    def locate(self, label: Label) -> tuple[Document, int]:
        """The report and passage index a label names (the first passage holding its start)."""
        for doc in self.documents:
            if doc.doc_id.startswith(label.doc):
                for i, passage in enumerate(doc.passages):
                    if label.starts in _norm(passage.text):
                        return doc, i
        raise LookupError(f"{self.name}: no passage of {label.doc} starts with {label.starts}")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


@dataclass
class Counts:
    """Right, given wrongly and missed (passage, topic) pairs."""
    right: int = 0
    wrong: int = 0
    missed: int = 0

    def add(self, got: set[str] | frozenset[str], want: set[str] | frozenset[str]) -> None:
        self.right += len(got & want)
        self.wrong += len(got - want)
        self.missed += len(want - got)

    @property
    def scores(self) -> tuple[float, float, float]:
        """Precision, recall and F1."""
        p = self.right / (self.right + self.wrong) if self.right + self.wrong else 0.0
        r = self.right / (self.right + self.missed) if self.right + self.missed else 0.0
        return p, r, 2 * p * r / (p + r) if p + r else 0.0


def predictions(label_set: LabelSet, classifier: topics.TopicClassifier) -> list[tuple[Label, set[str], str]]:
    """Each label with the topics the engine gives its passage and that passage's text."""
    by_doc = {doc.doc_id: document_topics(doc, classifier) for doc in label_set.documents}
    found = []
    for label in label_set.labels:
        doc, i = label_set.locate(label)
        found.append((label, set(by_doc[doc.doc_id][i].topics), doc.passages[i].text))
    return found


def report(label_set: LabelSet, classifier: topics.TopicClassifier, errors: bool) -> Counts:
    """Print a label set's per-topic table and overall line; return the overall counts."""
    per: dict[str, Counts] = {name: Counts() for name in classifier.rules.names}
    overall = Counts()
    for label, got, text in predictions(label_set, classifier):
        overall.add(got, label.topics)
        for name in got | label.topics:
            per.setdefault(name, Counts()).add(got & {name}, label.topics & {name})
        if errors and got != label.topics:
            print(f"  {label.doc} {text[:60]!r}\n      want {sorted(label.topics)} got {sorted(got)}")
    print(f"\n{label_set.name} ({len(label_set.labels)} passages)")
    for name, c in per.items():
        p, r, f = c.scores
        print(f"  {name:12s} right {c.right:3d}  given wrongly {c.wrong:3d}  missed {c.missed:3d}  "
              f"precision {p:.2f}  recall {r:.2f}  f1 {f:.2f}")
    p, r, f = overall.scores
    print(f"RESULT {label_set.name} precision={p:.2f} recall={r:.2f} f1={f:.2f} pairs={overall.right + overall.wrong + overall.missed}")
    return overall


# -- fitting ------------------------------------------------------------------

def training_pairs(label_set: LabelSet, classifier: topics.TopicClassifier,
                   features: tuple[str, ...] = topics.MEASURES) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Per report: the features of every (passage, topic) candidate, whether the label has the
    topic, and how many labelled topics had no evidence at all (misses no model can avoid)."""
    wanted: dict[tuple[str, int], frozenset[str]] = {}
    for label in label_set.labels:
        doc, i = label_set.locate(label)
        wanted[(doc.doc_id, i)] = label.topics
    pairs = {}
    for doc in label_set.documents:
        titles = ["\n".join(doc.lead_lines or (doc.title,))] + ["\n".join(a.heading_lines) for a in doc.articles[1:]]
        per_passage = classifier.candidates(titles, [topics.PassageInput(p.text, p.heading, p.role, p.article)
                                                     for p in doc.passages])
        x, y, unreachable = [], [], 0
        for i, found in enumerate(per_passage):
            if (doc.doc_id, i) not in wanted:
                continue
            want = wanted[(doc.doc_id, i)]
            x += [[c.features[name] for name in features] for c in found]
            y += [c.topic in want for c in found]
            unreachable += len(want - {c.topic for c in found})
        pairs[doc.doc_id] = (np.array(x, dtype=float).reshape(-1, len(features)), np.array(y, dtype=float),
                             unreachable)
    return pairs


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Ridge-penalised logistic regression by Newton's method: coefficients and intercept."""
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    w = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w[:-1], float(w[-1])


def held_out_probabilities(pairs: dict[str, tuple[np.ndarray, np.ndarray, int]], l2: float) -> dict[str, np.ndarray]:
    """Leave-one-report-out: each report's candidates judged by a model fitted on the others."""
    found = {}
    for held in pairs:
        x = np.vstack([pairs[d][0] for d in pairs if d != held])
        y = np.concatenate([pairs[d][1] for d in pairs if d != held])
        coefficients, intercept = fit_logistic(x, y, l2)
        found[held] = 1 / (1 + np.exp(-(pairs[held][0] @ coefficients + intercept)))
    return found


def counts_at(pairs: dict[str, tuple[np.ndarray, np.ndarray, int]], probabilities: dict[str, np.ndarray],
              threshold: float) -> Counts:
    """The pairs held-out probabilities get right at a threshold, counting unreachable labels as missed."""
    c = Counts()
    for doc, (_, y, unreachable) in pairs.items():
        given = probabilities[doc] >= threshold
        c.right += int((given & (y == 1)).sum())
        c.wrong += int((given & (y == 0)).sum())
        c.missed += int((~given & (y == 1)).sum()) + unreachable
    return c


def fit(tune: LabelSet, rules: topics.TopicRules, model_file: Path) -> None:
    """Fit the model on the tuning half with the penalty and threshold whose cross-validated F1
    is best (ties: the stronger penalty, the threshold nearer 0.5); report them, write the model."""
    pairs = training_pairs(tune, topics.TopicClassifier(rules, topics.TopicModel({}, 0.0)))
    validated = {}
    for l2 in PENALTIES:
        held_out = held_out_probabilities(pairs, l2)
        for t in THRESHOLDS:
            validated[(l2, round(float(t), 2))] = counts_at(pairs, held_out, t)
    l2, threshold = max(validated, key=lambda k: (round(validated[k].scores[2], 3), k[0], -abs(k[1] - 0.5)))
    p, r, f = validated[(l2, threshold)].scores
    coefficients, intercept = fit_logistic(np.vstack([v[0] for v in pairs.values()]),
                                           np.concatenate([v[1] for v in pairs.values()]), l2)
    for (penalty, t), c in validated.items():
        if penalty == l2:
            print(f"  cross-validated at threshold {t:.2f}: precision {c.scores[0]:.2f} recall {c.scores[1]:.2f} "
                  f"f1 {c.scores[2]:.2f}")
    model = {
        "about": "Logistic model of search/topics.py, written by `make topic-model` from "
                 "tests/data/topics/labels-tune.jsonl; do not edit by hand.",
        "coefficients": {name: round(float(c), 4) for name, c in zip(topics.MEASURES, coefficients)},
        "intercept": round(intercept, 4),
        "threshold": threshold,
        "penalty": l2,
        "pairs": int(sum(len(v[1]) for v in pairs.values())),
        "cross_validation": {"folds": len(pairs), "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)},
    }
    model_file.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {model_file}: penalty {l2}, threshold {threshold:.2f}, leave-one-report-out precision {p:.2f} "
          f"recall {r:.2f} f1 {f:.2f} over {len(pairs)} reports")
    for name, c in zip(topics.MEASURES, coefficients):
        print(f"  {name:20s} {c:+.3f}")
    print(f"  {'intercept':20s} {intercept:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("evaluate", "fit"), default="evaluate")
    parser.add_argument("--errors", action="store_true", help="list the wrong passages of the tuning half")
    args = parser.parse_args()
    tune = LabelSet.load("tuning half", TUNE, LABELLED)
    if args.command == "fit":
        fit(tune, topics.TopicRules.load(topics.TOPICS_FILE), topics.MODEL_FILE)
        return
    classifier = topics.TopicClassifier.load()
    report(tune, classifier, args.errors)
    report(LabelSet.load("held-out half", HELD_OUT, LABELLED), classifier, False)
    report(LabelSet.load("unseen batch", UNSEEN, LABELLED), classifier, False)
    if SHARED.exists():
        report(LabelSet.load("shared labels", SHARED, SEEDS), classifier, False)
    else:
        print(f"\n(no shared labels at {SHARED}: only the composed reports were evaluated)")


if __name__ == "__main__":
    main()
