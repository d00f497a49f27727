"""Milliseconds per question for the cross-encoder judge to score the chooser's best N candidate sentences,
on this machine as it is (the load average is printed with the figures: other jobs share the 2 cores).

  nice -n 19 .venv/bin/python training/time_judge.py training/runs/cross_fold0 --questions 40 --top 40 60 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # judge_data, and the qa package of this checkout

from judge_data import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a folder train_judge.py wrote, or qa/judges/relevance")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--top", type=int, nargs="*", default=[40, 60, 100])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(args.threads)
    model = AutoModelForSequenceClassification.from_pretrained(str(args.run), local_files_only=True,
                                                               dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(args.run))

    def scores(question: str, texts: list[str]) -> None:
        """One batch of (question, sentence) pairs, as the evidence stage would score them."""
        with torch.inference_mode():
            features = tokenizer([question] * len(texts), texts, padding=True, truncation="longest_first",
                                 max_length=128, return_tensors="pt")
            model(**features)

    items = [i for i in load() if i.fold == 0][:args.questions]
    scores(items[0].question, [c.text for c in items[0].candidates[:8]])  # warm up
    for top in args.top:
        seconds = []
        for item in items:
            started = time.perf_counter()
            scores(item.question, [c.text for c in item.candidates[:top]])
            seconds.append(time.perf_counter() - started)
        print(f"top {top}: p50 {statistics.median(seconds) * 1000:.0f} ms, p90 "
              f"{sorted(seconds)[int(0.9 * len(seconds))] * 1000:.0f} ms per question "
              f"({len(items)} questions; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
