"""Command line: ``python -m intents train | check [--set PATH]... | cv | eval [--file PATH] |
predict [--now ISO]``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from intents.model import NLU, ModelError, Prediction, default_data_dir

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "intents" / "data"
DEFAULT_TESTSET = EVAL_DIR / "testset.yaml"
DEFAULT_BLIND = EVAL_DIR / "blind"


def _fallback(text: str) -> dict[str, object]:
    return Prediction(text=text, normalized="", intent="out_of_scope", confidence=0.0,
                      faq_topic=None, faq_score=0.0).to_json()


def cmd_predict(nlu: NLU, now: datetime | None) -> int:
    out = sys.stdout
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            obj = nlu.predict(line, now=now).to_json()
        except Exception:
            obj = _fallback(line)
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m intents", description="Chinese NLU for the insurance bot")
    ap.add_argument("--data-dir", type=Path, default=None, help="data directory (default config/nlu)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("train", help="train and write the model artefact")
    ck = sub.add_parser("check", help="is the committed model current; does retraining give the same model")
    ck.add_argument("--set", type=Path, action="append", dest="sets", default=None,
                    help="evaluation set whose predictions must not change (default: the dev and test sets)")
    sub.add_parser("cv", help="5-fold cross-validation on the training data (needs scikit-learn)")
    cr = sub.add_parser("cross", help="leave-one-author-out evaluation of the blind message sets")
    cr.add_argument("--blind-dir", type=Path, default=DEFAULT_BLIND)
    cr.add_argument("--errors", action="store_true", help="list the errors too")
    cr.add_argument("--fast", action="store_true",
                    help="do not calibrate each model's low-confidence threshold (0.5 instead)")
    ev = sub.add_parser("eval", help="evaluate on a YAML test set")
    ev.add_argument("--file", type=Path, action="append", default=None,
                    help="YAML test file or directory of them (repeatable; default the test set)")
    ev.add_argument("--quiet", action="store_true", help="do not list the errors")
    ev.add_argument("--either-convention", action="store_true",
                    help="accept product_question or the topic's own intent for service-rule questions")
    pr = sub.add_parser("predict", help="JSON line per stdin line")
    pr.add_argument("--now", default=None, help="reference time, ISO 8601 with offset")
    args = ap.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    if args.cmd == "train":
        from intents.train import train

        train(data_dir, log=lambda s: print(s, file=sys.stderr))
        return 0
    if args.cmd == "check":
        from intents.reproduce import check

        sets = args.sets or [EVAL_DIR / "devset.yaml", DEFAULT_TESTSET]
        return check(data_dir, sets)
    if args.cmd == "cv":
        from intents.crossval import crossval

        crossval(data_dir)
        return 0
    if args.cmd == "cross":
        from intents.crossval import crossauthor

        crossauthor(data_dir, args.blind_dir, show_errors=args.errors, calibrate=not args.fast)
        return 0
    now = None
    if args.cmd == "predict" and args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"error: --now must be an ISO 8601 time, got {args.now!r}", file=sys.stderr)
            return 2
    try:
        nlu = NLU.load(data_dir)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.cmd == "predict":
        return cmd_predict(nlu, now)
    from intents.evaluate import evaluate, format_report

    files = args.file or [DEFAULT_TESTSET]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        print(f"error: test file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    res = evaluate(nlu, files, either_convention=args.either_convention)
    print(format_report(res, show_errors=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
