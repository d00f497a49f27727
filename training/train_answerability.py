"""Train the answerability judge (issue 27): a cross-encoder started from the bundled MiniLM that reads
a question with the evidence the product chose for it and says whether that evidence supports an answer.

Examples, from the committed data (`answerability_data.py`):
  positives  answerable dev questions whose evidence holds a gold fact; the 1.5B's answerable
             questions and the InPars questions whose sentence is in the evidence
  negatives  the dev null queries; the same positives' evidence with the gold sentences removed
             ("removed"); a positive's question with another question's evidence ("swapped");
             rule-changed dev questions; the 1.5B's false-premise questions
Pointwise (binary cross-entropy), in a plain torch loop on CPU; MiniLM's word and position
embeddings stay as they are (the package ships only the trained layers, `export_answerability.py`).
Trained on every fold but `--fold`; the held-out fold's examples are scored (out of fold) into
`results/answerability_fold<k>.jsonl` with the seconds each took.

  nice -n 19 .venv/bin/python training/train_answerability.py --fold 0
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # train_judge, and the qa package of this checkout

from train_judge import _run_steps  # noqa: E402

from qa.judges import CROSS_FROM_BASE, evidence_text, new_cross_encoder  # noqa: E402

SEED = 27
DATA = HERE / "data"
FILES = ("answerability.jsonl.gz", "answerability_written.jsonl.gz")


def load(data: Path) -> list[dict]:
    return [json.loads(line) for name in FILES if (data / name).exists() for line in gzip.open(data / name, "rt")]


def examples(records: list[dict], seed: int, swapped_share: float = 0.5) -> list[dict]:
    """Each record as an example, and the "removed" and "swapped" negatives made from the positives."""
    rng = random.Random(seed)
    out = []
    by_fold: dict[int, list[dict]] = {}
    for r in records:
        by_fold.setdefault(r["fold"], []).append(r)
    for r in records:
        scored = [(e["score"], e["text"]) for e in r["evidence"]]
        out.append({"id": r["id"], "kind": r["kind"], "fold": r["fold"], "question": r["question"],
                    "text": evidence_text(scored), "label": r["label"]})
        if not r["label"]:
            continue
        rest = [(e["score"], e["text"]) for e in r["evidence"] if not e["gold"]]
        if r["kind"] == "dev" and rest:
            out.append({"id": r["id"] + ":removed", "kind": "removed", "fold": r["fold"], "question": r["question"],
                        "text": evidence_text(rest), "label": 0})
        if rng.random() < swapped_share:
            other = rng.choice(by_fold[r["fold"]])
            if other["id"] != r["id"] and other["evidence"]:
                out.append({"id": r["id"] + ":swapped", "kind": "swapped", "fold": r["fold"],
                            "question": r["question"], "label": 0,
                            "text": evidence_text([(e["score"], e["text"]) for e in other["evidence"]])})
    return out


def train(model, tokenizer, rows: list[dict], *, batch_size: int, epochs: int, lr: float, head_lr: float,
          max_length: int, seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    for name, weights in model.named_parameters():
        weights.requires_grad = name not in CROSS_FROM_BASE
    model.train()
    per_epoch = (len(rows) + batch_size - 1) // batch_size
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step_loss(step: int):
        if step % per_epoch == 0:
            random.Random(seed + step).shuffle(rows)
        batch = rows[(step % per_epoch) * batch_size:][:batch_size]
        features = tokenizer([r["question"] for r in batch], [r["text"] for r in batch], padding=True,
                             truncation="only_second", max_length=max_length, return_tensors="pt")
        return loss_fn(model(**features), torch.tensor([float(r["label"]) for r in batch]))

    _run_steps([{"params": [w for w in model.bert.parameters() if w.requires_grad]},
                {"params": model.head.parameters(), "lr": head_lr}], per_epoch * epochs, lr, step_loss)
    model.eval()


def score(model, tokenizer, rows: list[dict], max_length: int) -> list[dict]:
    import torch

    out = []
    with torch.inference_mode():
        for r in rows:
            started = time.perf_counter()
            features = tokenizer([r["question"]], [r["text"]], truncation="only_second", max_length=max_length,
                                 return_tensors="pt")
            probability = float(torch.sigmoid(model(**features)[0]))
            out.append({"id": r["id"], "kind": r["kind"], "label": r["label"], "probability": round(probability, 4),
                        "seconds": round(time.perf_counter() - started, 4)})
    return out


def auc(rows: list[dict]) -> float | None:
    positives = [r["probability"] for r in rows if r["label"]]
    negatives = [r["probability"] for r in rows if not r["label"]]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", default="0", help="held-out fold, or 'all' to train on every question")
    parser.add_argument("--name", default="answerability")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3, help="the classifier's (it starts random)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--models", type=Path, default=HERE / "runs", help="where trained weights go (not committed)")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where out-of-fold scores go")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-kinds", nargs="*", default=["premise_false"],
                        help="kinds of question left out (the data's docstring says why premise_false is)")
    parser.add_argument("--max-rows", type=int, help="only the first N training examples: a smoke run")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    rows = examples([r for r in load(args.data) if r["kind"] not in args.skip_kinds], SEED)
    held_out = None if args.fold == "all" else int(args.fold)
    training = [r for r in rows if r["fold"] != held_out][:args.max_rows]
    counts = {k: sum(r["kind"] == k for r in training) for k in sorted({r["kind"] for r in training})}
    print(f"{len(training)} examples ({sum(r['label'] for r in training)} positive): {counts}", file=sys.stderr)
    model, tokenizer = new_cross_encoder()
    started = time.perf_counter()
    train(model, tokenizer, training, batch_size=args.batch_size, epochs=args.epochs, lr=args.lr,
          head_lr=args.head_lr, max_length=args.max_length, seed=SEED)
    train_s = time.perf_counter() - started
    folder = args.models / f"{args.name}_fold{args.fold}"
    folder.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    meta = {"fold": args.fold, "seed": SEED, "examples": counts, "train_seconds": round(train_s),
            **{k: v for k, v in vars(args).items() if k in ("epochs", "batch_size", "lr", "head_lr", "max_length", "skip_kinds")}}
    (folder / "training.json").write_text(json.dumps(meta, indent=1))
    print(f"trained in {train_s:.0f} s → {folder}", file=sys.stderr)
    if held_out is None:
        return
    scored = score(model, tokenizer, [r for r in rows if r["fold"] == held_out], args.max_length)
    args.results.mkdir(parents=True, exist_ok=True)
    with (args.results / f"{args.name}_fold{held_out}.jsonl").open("w") as handle:
        handle.write(json.dumps({"meta": meta}) + "\n")
        for row in scored:
            handle.write(json.dumps(row) + "\n")
    seconds = sorted(r["seconds"] for r in scored)
    print(f"held-out fold {held_out}: AUC {auc(scored)}; by kind (against every positive): "
          + ", ".join(f"{k} {auc([r for r in scored if r['label'] or r['kind'] == k])}"
                      for k in sorted({r['kind'] for r in scored if not r['label']}))
          + f"; p50 {seconds[len(seconds) // 2] * 1000:.0f} ms a question", file=sys.stderr)


if __name__ == "__main__":
    main()
