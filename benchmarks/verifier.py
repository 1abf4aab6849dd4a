"""How well the citation verifier separates supported sentences from corrupted ones, on real text.

Sentences come from MedQuAD answers and PubMedQA abstracts; each is checked against its passage
(the sentence with its neighbours, as a retrieved passage would hold it) verbatim and lightly
trimmed (supported), and in four corruptions: a number changed, negation flipped, the disease
or MeSH term swapped for another from the data, and a sentence from another document.

Usage: python benchmarks/verifier.py [--n 50] [--seed 0] [--show] [--held-out]
Prints recall on corrupted sentences (per kind and overall) and the false-alarm rate on supported.
The sentences and corruptions are built in `osler.evaluate.answers`, which `osler eval answers`
also reports (figure 3).
"""

from __future__ import annotations

import argparse
import json

from osler.evaluate.answers import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="print misses and false alarms")
    parser.add_argument(
        "--held-out", action="store_true", help="MedicationQA instead of MedQuAD + PubMedQA"
    )
    args = parser.parse_args()
    figures = measure(args.n, args.seed, show=args.show, held_out=args.held_out)
    print(json.dumps(figures, indent=2))
    ok = figures["recall"] >= 0.95 and figures["false_alarm_rate"] <= 0.05
    print(
        f"recall {figures['recall']:.3f}, false alarms {figures['false_alarm_rate']:.3f}: "
        f"{'meets' if ok else 'misses'} the target (recall >= 0.95 at <= 5% false alarms)"
    )


if __name__ == "__main__":
    main()
