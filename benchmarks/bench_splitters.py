"""Which sentence splitter for news text? Accuracy on hand-labelled cases, and speed.

The gold set below was written for this benchmark: short news passages full of
the traps that break sentence splitters (abbreviations such as U.S., Mr., Dr.,
Jan., Corp.; decimals and prices; quotes with their attribution; datelines
like ``BEIJING (Reuters) -``; bullet and numbered lists; "Follow us on
Twitter" embed lines; photo credits; hard-wrapped wire copy). A ``§`` marks
each true sentence start; it is removed to make the input text. A ``¶`` marks a
start that only our layout layer is expected to find: the end of a dateline
opening a paragraph, which :func:`dedup.align.sentences.layout_segments` makes a
unit of its own (the library alone is still expected to keep it glued to the
first sentence, so the raw columns' gold is unchanged).

Each candidate is measured twice: on the raw text (the library alone) and
inside :func:`dedup.align.sentences.split_sentences` (our layout layer first),
which is what ships. Reported: passages split exactly right, and precision /
recall / F1 of sentence boundaries. Speed: articles per second over Reuters-21578
bodies (read from the eval-data folder, skipped when absent).

Run::

    python benchmarks/bench_splitters.py            # all installed candidates
    python benchmarks/bench_splitters.py --docs 500 # fewer Reuters docs for speed
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import time
from pathlib import Path

from dedup.align.sentences import _backend, split_sentences

CANDIDATES = ("pysbd", "blingfire", "syntok", "nupunkt", "sentencex")

GOLD = [
    # datelines
    "BEIJING (Reuters) - ¶China's exports rose 5.2 percent in March, customs data showed on Tuesday. §Imports fell 1.1 percent.",
    "WASHINGTON (AP) — ¶The U.S. Senate voted 52-48 on Thursday to confirm the nominee. §The vote came after weeks of debate.",
    "LONDON, March 3 (Reuters) - ¶British house prices rose 0.5 pct in February, the Nationwide said. §That was below forecasts.",
    "NEW YORK, Jan. 5 (AP) — ¶Stocks fell sharply on Monday. §The Dow lost 600 points, or 2.1%.",
    "PARIS (AFP) - ¶French President Emmanuel Macron on Sunday called for calm. §Protests continued overnight in several cities.",
    # titles and abbreviations mid-sentence
    "Mr. Smith, 54, told reporters he would not resign. §\"I have done nothing wrong,\" he said.",
    "Dr. Anna Lee of St. Mary's Hospital said the patient was stable. §She declined to comment further.",
    "Sen. Elizabeth Warren, D-Mass., criticized the plan. §Rep. Kevin McCarthy, R-Calif., defended it.",
    "Gen. Mark Milley said the U.S. military would respond. §Lt. Col. Sarah Jones confirmed the strike.",
    "Ms. Ardern, who became prime minister in 2017, said New Zealand would not change course. §\"We stay the course,\" she said.",
    "The No. 2 official at the Justice Department, Rod Rosenstein, appointed Mueller. §He has since left the department.",
    "The company, based in St. Louis, employs 1,200 people. §It was founded in 1901.",
    "The novel by J.K. Rowling sold 500 million copies. §Warner Bros. made the films.",
    "The match, Arsenal vs. Chelsea, ended 2-1. §Fans celebrated into the night.",
    "The meeting is scheduled for Jan. 15 in Washington, D.C., officials said. §It will be the first since Oct. 2019.",
    "The U.N. Security Council met on Monday. §It failed to agree on a resolution.",
    "The U.S. economy added 250,000 jobs in October. §The unemployment rate held at 3.6%.",
    # abbreviations at the end of a sentence
    "The talks were held in the U.S. §Officials from both sides attended.",
    "The deal was announced by Acme Corp. §The company expects it to close in the third quarter.",
    "It happened at 5 p.m. §Police arrived minutes later.",
    "The law takes effect Sept. 1. §Critics have vowed to challenge it.",
    # ordinary words nupunkt's model lists as abbreviations (session 32), and abbreviations it must keep
    "Inflation rose again last month. §Officials said the central bank would act.",
    "The company plans to buy back more of its stock. §Analysts welcomed the move.",
    "He said he would not do so. §Police declined to comment.",
    "Production will move to the company's Belvidere, Ill. plant next year. §About 300 jobs are affected.",
    # numbers
    "Shares of Acme Inc. closed at $12.50, down 0.8 percent. §The broader market was flat.",
    "The company reported revenue of $4.5 billion, up 3.2% from a year earlier. §Analysts had expected $4.4 billion.",
    "The index closed at 3,456.78 points. §It had opened at 3,401.2 points.",
    "The firm, Smith & Co., was fined £1.2m. §It said it would appeal.",
    "The flight departed at 9 a.m. and landed at 1:30 p.m. local time. §No injuries were reported.",
    "Sales fell 5% last year. §2019 was the worst year since the crisis.",
    # quotes
    "\"We will fight this in court,\" said Gov. John Bel Edwards. §\"This is not over.\"",
    "\"Is this the end?\" she asked. §Nobody answered.",
    "\"Get out now!\" the officer shouted. §Residents fled.",
    "She called the ruling \"a disgrace.\" §Her lawyers plan to appeal.",
    "\"The economy is strong,\" Powell said on Wednesday. §\"But risks remain.\"",
    "\"We'll see...\" he said. §The talks resume Monday.",
    "“It was terrifying,” said Maria Lopez, 32. §“The whole building shook.”",
    "Why now? §Officials say the timing is a coincidence.",
    "The bank raised rates (its third increase this year). §Markets fell.",
    "Apple unveiled a new phone on Tuesday. §iPhone sales have slowed.",
    # agency furniture
    "Prices rose 2 percent. §(Reporting by Jane Doe in London; Editing by Mark Potter)",
    "More details are available at www.example.com. §Contact press@example.org for comment.",
    # layout: embed lines, credits, lists (single line breaks are structure here)
    "The minister resigned on Friday.\n§Follow us on Twitter @NewsDesk\n§Her successor will be named next week.",
    "Read more: Why the Fed raised rates again\n§The central bank said inflation remained too high.",
    "Photo: John Smith/AFP via Getty Images\n§The protest drew thousands of people to the capital.",
    "The fire spread quickly through the building.\n§ADVERTISEMENT\n§Firefighters took three hours to contain it.",
    "The plan includes:\n§• A tax cut for families\n§• New funding for schools\n§• A freeze on fuel duty",
    "The report made three findings:\n§1. Safety checks were skipped.\n§2. Staff were not trained.\n§3. Records were falsified.",
    "Pressure is growing on the company.\n\n§— Jane Doe (@janedoe) June 5, 2019\n\n§The tweet drew thousands of replies.",
    # ordinary multi-sentence news paragraphs with the usual furniture
    "Former President George W. Bush spoke at the event on Feb. 12. §He praised the troops. "
    "§\"They are heroes,\" Bush said.",
    "Martin Luther King Jr. Day falls on Monday. §Schools and banks will be closed.",
    "The U.K. and the EU reached a deal late on Thursday. §Details were not released. "
    "§A spokesman for No. 10 Downing St. declined to comment.",
    "BP Plc said on Tuesday it would cut 10,000 jobs. §The company, like rivals Royal Dutch Shell Plc "
    "and Exxon Mobil Corp., has been hit by the collapse in oil demand.",
    "The storm made landfall near Galveston, Tex., at about 2 a.m. Saturday. §More than 1 million homes lost power. "
    "§Gov. Greg Abbott declared a state of emergency.",
    "Officials said the suspect, 23, was arrested at approx. 11:45 p.m. on Friday. "
    "§He is due in court on Monday.",
    "The study, published in the journal Nature, found a 12.5 per cent rise. "
    "§\"This is alarming,\" said Prof. Helen Clark, a co-author. §\"We did not expect it.\"",
    "Tesla Inc.'s shares jumped 8.9% to $712.43. §The stock has more than doubled this year.",
    "Manchester United beat Liverpool 2-1 on Sunday. §Marcus Rashford scored twice. "
    "§It was United's first win at Anfield since 2016.",
    "The company's CEO, John A. Smith, will step down in Dec. 2024, the board said. §A search for a successor has begun.",
    "Asked whether he would run again, he said: \"No.\" §He did not elaborate.",
    "Rates will rise to 5.25%-5.5%, the highest in 22 years. §The decision was unanimous.",
    "The vote was 6-3. §Justice Sonia Sotomayor wrote the dissent.",
    "It is unclear what happened next. §According to police, the man fled on foot. §He has not been found.",
    "Wildfires have burned more than 4 million acres in California this year, e.g. the Creek Fire near Fresno. "
    "§Firefighters expect more.",
    "The bill passed the House on Wednesday. §It now goes to the Senate, where its fate is uncertain.",
    # hard-wrapped wire copy with indented paragraphs
    "    Shares of Acme Corp rose 5 pct on Monday after the company\nsaid first-quarter profit would "
    "beat forecasts by a wide\nmargin. §Analysts said the news was a surprise to\nthe market.\n"
    "    §The company also said it would pay a dividend of 10\ncts a share, its first since 1985, "
    "and buy back up to\nfive mln of its shares.",
]


def _parse(case: str, *, layout: bool) -> tuple[str, set[int]]:
    """Input text and gold starts; ``¶`` starts count only with ``layout`` (inside our layout layer)."""
    text, starts = "", set()
    for piece in re.split("([§¶])", case):
        if piece == "§" or (piece == "¶" and layout):
            starts.add(len(text))
        elif piece != "¶":
            text += piece
    return text, starts


def _starts(text: str, spans) -> set[int]:
    return {a for a, _ in spans if a > 0 and text[:a].strip()}


def _raw_spans(name: str, text: str):
    starts = sorted({0, *_backend(name)(text)})
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(text)]) if text[a:b].strip()]


def _norm_starts(text: str, starts: set[int]) -> set[int]:
    """Move each start past whitespace so that gold and predictions compare."""
    out = set()
    for a in starts:
        while a < len(text) and text[a].isspace():
            a += 1
        if a < len(text):
            out.add(a)
    return out


def accuracy(name: str, *, layout: bool) -> dict:
    tp = fp = fn = exact = 0
    misses = []
    for case in GOLD:
        text, gold = _parse(case, layout=layout)
        spans = split_sentences(text, splitter=name) if layout else _raw_spans(name, text)
        pred = _norm_starts(text, _starts(text, spans))
        gold = _norm_starts(text, gold)
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
        if pred == gold:
            exact += 1
        else:
            misses.append(text[:60].replace("\n", "/"))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"exact": exact, "cases": len(GOLD), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0, "misses": misses}


def reuters_bodies(limit: int) -> list[str]:
    root = Path(os.environ.get("DEDUP_EVAL_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "eval-data"))
    folder = root / "reuters21578"
    if not folder.is_dir():
        return []
    bodies = []
    for sgm in sorted(folder.glob("reut2-*.sgm")):
        raw = sgm.read_text(encoding="latin-1")
        for m in re.finditer(r"<BODY>(.*?)</BODY>", raw, flags=re.S):
            body = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            bodies.append(body.replace("\x03", "").strip())
            if len(bodies) >= limit:
                return bodies
    return bodies


def speed(name: str, bodies: list[str]) -> float:
    split_sentences(bodies[0], splitter=name)  # warm up (model loading)
    t0 = time.perf_counter()
    for body in bodies:
        split_sentences(body, splitter=name)
    return len(bodies) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000, help="Reuters bodies for the speed test")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    bodies = reuters_bodies(args.docs)
    chars = sum(map(len, bodies))
    print(f"gold: {len(GOLD)} passages; speed: {len(bodies)} Reuters bodies, {chars / 1e6:.2f} M chars")
    print(f"{'splitter':10} {'raw exact':>9} {'raw F1':>7} {'exact':>6} {'P':>6} {'R':>6} {'F1':>6} {'docs/s':>8}")
    for name in CANDIDATES:
        if importlib.util.find_spec(name) is None:
            print(f"{name:10} not installed")
            continue
        raw = accuracy(name, layout=False)
        ours = accuracy(name, layout=True)
        rate = speed(name, bodies) if bodies else float("nan")
        print(f"{name:10} {raw['exact']:>4}/{raw['cases']:<4} {raw['f1']:7.3f} {ours['exact']:>3}/{ours['cases']:<2}"
              f" {ours['precision']:6.3f} {ours['recall']:6.3f} {ours['f1']:6.3f} {rate:8.0f}")
        if args.show_misses:
            for miss in ours["misses"]:
                print(f"    miss: {miss}")


if __name__ == "__main__":
    main()
