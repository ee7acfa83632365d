"""Text operations used by the syndication simulator (``syndication.py``).

Nothing here knows about gold labels; every function maps text to text.

* ``split_sentences(paragraph)`` -- the simulator's own sentence splitter.  It
  splits after ``.``/``!``/``?`` (plus closing quotes/brackets) followed by
  whitespace and an upper-case letter, digit or opening quote, except after
  known abbreviations (Mr., Corp., Feb., ...), single-letter initials and
  dotted acronyms (U.S.).  It errs on the side of NOT splitting: a missed
  boundary just makes one simulator "sentence" longer.  Gold is tracked on
  the simulator's own units, so splitter mistakes never make gold wrong; the
  evaluation is word-level so it does not depend on any splitter either.
* ``house_style(text, outlet)`` / ``discretionary_edits(text, rng)`` --
  the copy edits an outlet's desk applies (spelling swaps, pct->percent,
  mln dlrs->$ million, 1,234->1234, curly quotes, <TICKER> removal,
  "Mr. X said"->"X said", "said"->"told reporters", number rounding).
* ``title_case``, ``headline_variants`` -- outlet headlines.
* ``make_outlets(rng, n)`` -- a pool of fictional outlets, each with a fixed
  profile (spelling, footer lines, operation propensities, staff).
* ``make_companies(rng, n, pr_outlets)`` -- fictional companies with a long
  (~5-sentence) "About" boilerplate and a contact line, for press releases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from random import Random

# ---------------------------------------------------------------- splitting
_ABBREV = frozenset(
    "mr mrs ms dr st co corp inc ltd jan feb mar apr jun jul aug sep sept oct nov "
    "dec no nos vs etc gov sen rep gen col lt sgt jr sr bros mt ft ave dept approx "
    "est fig plc pty cie cos messrs prof adm capt cmdr rev hon".split())
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?")


def split_sentences(paragraph: str) -> list[str]:
    """Split one single-line paragraph into sentences (see module docstring)."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        if paragraph[m.start()] == ".":
            tok = paragraph[start:m.start() + 1].rsplit(None, 1)[-1]
            core = tok.rstrip(".").lstrip("\"'([")
            if core.lower() in _ABBREV or (len(core) == 1 and core.isalpha()) or \
                    _ACRONYM.fullmatch(core):
                continue
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    if paragraph[start:].strip():
        out.append(paragraph[start:].strip())
    return out


# ---------------------------------------------------------------- copy edits
_IZE_STEMS = ("organi privati liberali recogni reali emphasi critici stabili subsidi "
              "authori minimi maximi capitali nationali moderni industriali speciali "
              "normali apologi jeopardi summari utili publici").split()
_US_UK = {"labor": "labour", "favor": "favour", "favorable": "favourable",
          "honor": "honour", "color": "colour", "center": "centre", "centers": "centres",
          "program": "programme", "programs": "programmes", "defense": "defence",
          "analyze": "analyse", "analyzed": "analysed", "harbor": "harbour",
          "neighbor": "neighbour", "neighboring": "neighbouring", "behavior": "behaviour",
          "traveling": "travelling", "fulfill": "fulfil", "catalog": "catalogue",
          "gray": "grey", "percent": "per cent", "jewelry": "jewellery",
          "fiber": "fibre", "meter": "metre", "meters": "metres", "liter": "litre"}
_UK_US = {v: k for k, v in _US_UK.items()}
_US_UK_RE = re.compile(r"\b(" + "|".join(sorted(_US_UK, key=len, reverse=True)) + r")\b", re.I)
_UK_US_RE = re.compile(r"\b(" + "|".join(sorted(_UK_US, key=len, reverse=True)) + r")\b", re.I)
_IZE_RE = re.compile(r"\b(" + "|".join(_IZE_STEMS) + r")([zs])(e|es|ed|ing|ation|ations)\b", re.I)


def _swap_case(word: str, repl: str) -> str:
    return repl[0].upper() + repl[1:] if word[:1].isupper() else repl


def spelling(text: str, variety: str) -> str:
    """Swap US<->UK spellings (variety 'uk' or 'us'), preserving capitalisation."""
    table, rx, z = (_US_UK, _US_UK_RE, "s") if variety == "uk" else (_UK_US, _UK_US_RE, "z")
    text = rx.sub(lambda m: _swap_case(m.group(1), table[m.group(1).lower()]), text)
    return _IZE_RE.sub(lambda m: m.group(1) + z + m.group(3), text)


_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_UNIT_RULES_US = [
    (re.compile(rf"\b({_NUM}) (mln|bln) dlrs\b"),
     lambda m: f"${m.group(1)} {'million' if m.group(2) == 'mln' else 'billion'}"),
    (re.compile(rf"\b({_NUM}) dlrs\b"), lambda m: f"${m.group(1)}"),
]
_UNIT_WORDS = [(re.compile(r"\bmln\b"), "million"), (re.compile(r"\bbln\b"), "billion"),
               (re.compile(r"\bdlrs\b"), "dollars"), (re.compile(r"\bcts\b"), "cents"),
               (re.compile(r"\bpct\b"), "percent")]
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_TICKER = re.compile(r"<([^<>]{1,60})>")


def house_style(text: str, outlet: "Outlet") -> str:
    """Apply an outlet's deterministic house style to one sentence."""
    if outlet.dollar_sign:
        for rx, fn in _UNIT_RULES_US:
            text = rx.sub(fn, text)
    if outlet.expand_units:
        for rx, repl in _UNIT_WORDS:
            text = rx.sub(repl, text)
    if outlet.strip_thousands:
        text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _TICKER.sub(r"\1", text)  # desks drop Reuters' <TICKER> brackets
    text = spelling(text, outlet.spelling)
    if outlet.curly_quotes:
        text = re.sub(r'(^|[\s(\[])"', "\\1\u201c", text).replace('"', "\u201d")
    return text


_HONORIFIC = re.compile(r"\b(?:Mr|Mrs|Ms|Dr)\.? (?=[A-Z])")
_TOLD = re.compile(r"\b(he|she|they|officials|[A-Z][a-z]+) said\b(?! (?:in|on|at|that the|it))")
_ROUND = re.compile(r"\b(\d+)\.(\d\d+)(?= (?:mln|bln|million|billion|pct|percent|per cent|dlrs))")


def discretionary_edits(text: str, rng: Random, p: float = 0.3) -> str:
    """Per-sentence desk edits, each applied with probability ``p``."""
    if rng.random() < p:
        text = _HONORIFIC.sub("", text)
    if rng.random() < p:
        text = _TOLD.sub(lambda m: f"{m.group(1)} told reporters", text, count=1)
    if rng.random() < p:
        text = _ROUND.sub(lambda m: f"{round(float(m.group(1) + '.' + m.group(2)), 1):.1f}", text)
    return text


# ---------------------------------------------------------------- headlines
_SMALL = frozenset("a an and as at but by for in of on or the to vs via from with".split())


def title_case(title: str) -> str:
    """'STANDARD OIL <SRD> TO FORM U.S. UNIT' -> 'Standard Oil to Form U.S. Unit'.

    Words with a dot, known acronyms and short vowel-less words stay upper case."""
    out = []
    for i, w in enumerate(re.sub(r"\s*<[^<>]{1,60}>", "", title).split()):
        lw = w.lower()
        if i and lw in _SMALL:
            out.append(lw)
        elif "." in w or lw in _ACRONYMS or (len(w) <= 4 and w.isalpha()
                                              and not re.search(r"[aeiouy]", lw)):
            out.append(w.upper())
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in lw.split("-")))
    return " ".join(out)


_ACRONYMS = frozenset("imf ec us uk usa ibm opec gatt usda ussr nyse amex otc gnp gdp ecu ems "
                      "ico lme sec ftc fcc eib adb gaf att ual twa rjr ge itt oecd iea cia "
                      "faa epa nasa irs fdic icco ica ipe nz".split())


def headline_variants(title: str, sents: list[str], rng: Random) -> tuple[str, bool]:
    """Return (headline, is_rewrite) for a story with wire ``title`` and
    sentences ``sents``.  Non-rewrites are the title-cased wire title; rewrites
    are a short lead clause, sentence case (words seen capitalised mid-sentence
    in the story keep their capital) or a section kicker."""
    base = title_case(title) or " ".join(sents[0].split()[:8])
    choice = rng.random()
    if choice < 0.3:
        clause = re.split(r",|\bsaid\b|\bsays\b", sents[0], maxsplit=1)[0].split()
        if 5 <= len(clause) <= 12:
            head = " ".join(clause).rstrip(" ,;:-\"'")
            return head[:1].upper() + head[1:], True
    if choice < 0.6:
        proper = {w for s in sents for w in re.findall(r"(?<=[\w,] )[A-Z][\w.'-]*", s)}
        words = base.split()
        out = [words[0]] + [w if w in proper or w.isupper() and len(w) > 1 else w.lower()
                            for w in words[1:]]
        return " ".join(out), True
    if choice < 0.8:
        kicker = rng.choice(["Markets", "Business", "World", "Economy", "Briefing", "Wire"])
        return f"{kicker}: {base}", True
    return base, False


# ---------------------------------------------------------------- outlets
_PLACES = ("Riverton Harborview Millbrook Oakdale Pinecrest Lakeside Fairhaven Westbury "
           "Cedar Falls Brookfield Ashford Maple Ridge Stonebridge Kingsport Hollowell "
           "Redmarsh Eastfield Northam Silverton Granite Bay Elmwood Claymore Dunmore "
           "Wexley Baymouth Thornbury Glenrock Marlow Heathcote Summerfield").split()
_PLACES = [p for p in _PLACES if p not in ("Falls", "Ridge", "Bay")] + \
          ["Cedar Falls", "Maple Ridge", "Granite Bay"]
_PAPERS = ("Courier Gazette Herald Ledger Tribune Post Chronicle Observer Sentinel Times "
           "Journal Examiner Dispatch Standard Record Register Monitor Express Bulletin "
           "Telegraph").split()
_DIGITAL = ["Market Pulse", "Daily Brief", "Newsfront", "Wire Digest", "Capital Report",
            "Trade Watch", "Global Desk", "Morning Edition", "Signal", "The Roundup"]
_FIRST = ("Jane John Maria David Sarah Michael Laura James Emily Robert Anna Thomas "
          "Rachel Peter Helen Mark Susan Daniel Claire Paul Nina Simon Grace Victor").split()
_LAST = ("Doe Smith Alvarez Chen Patel Okafor Brennan Novak Lindqvist Moreau Tanaka "
         "Haddad Kowalski Ferreira Byrne Osei Whitfield Sato Mendes Larsen Quinn Ibarra").split()
_FOOTERS = [
    "Read more at {domain}",
    "Sign up for {the_name} morning newsletter at {domain}/newsletters.",
    "Copyright 1987 {name}. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed.",
    "Follow {name} for the latest business and markets coverage.",
    "Have a news tip? Contact {the_name} newsroom at tips@{domain}.",
    "{name} has served readers in {place} and beyond since {year}.",
    "Subscribe to {name} for unlimited access to local, national and world news.",
    "This story was compiled from wire reports and edited by {the_name} news desk.",
]


@dataclass
class Outlet:
    """A fictional outlet with a fixed house style and editing propensities."""

    name: str
    domain: str
    place: str
    spelling: str = "us"
    footer: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    para_sep: str = "\n\n"
    one_sentence_paras: bool = False
    expand_units: bool = True
    dollar_sign: bool = False
    strip_thousands: bool = False
    curly_quotes: bool = False
    p: dict[str, float] = field(default_factory=dict)  # op -> probability


def make_outlets(rng: Random, n: int = 60) -> list[Outlet]:
    """A pool of ``n`` distinct fictional outlets (deterministic given ``rng``)."""
    names: list[tuple[str, str]] = []
    for d in rng.sample(_DIGITAL, k=min(8, n // 6)):
        names.append((d, rng.choice(_PLACES)))
    while len(names) < n:
        place = rng.choice(_PLACES)
        nm = f"The {place} {rng.choice(_PAPERS)}"
        if nm not in {x for x, _ in names}:
            names.append((nm, place))
    outlets = []
    for name, place in names:
        dom = re.sub(r"[^a-z]", "", name.lower().removeprefix("the ")) + ".example"
        uk = rng.random() < 0.35
        nfoot = 0 if rng.random() < 0.25 else rng.randint(1, 4)
        the_name = name if name.startswith("The ") else f"the {name}"
        footer = [t.format(name=name, the_name=the_name, domain=dom, place=place,
                           year=rng.randint(1850, 1980))
                  for t in rng.sample(_FOOTERS, nfoot)]
        outlets.append(Outlet(
            name=name, domain=dom, place=place, spelling="uk" if uk else "us", footer=footer,
            staff=[f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.randint(2, 5))],
            para_sep=rng.choice(["\n\n", "\n\n", "\n\n", "\n"]),
            one_sentence_paras=rng.random() < 0.3,
            expand_units=rng.random() < 0.7, dollar_sign=not uk and rng.random() < 0.5,
            strip_thousands=rng.random() < 0.3, curly_quotes=rng.random() < 0.3,
            p={"copy_edit": rng.uniform(0.1, 0.9), "trim_tail": rng.uniform(0.1, 0.6),
               "drop_middle": rng.uniform(0.0, 0.35), "insert_padding": rng.uniform(0.0, 0.35),
               "update": rng.uniform(0.0, 0.12), "new_headline": rng.uniform(0.3, 0.95),
               "byline": rng.choice([0.05, 0.5, 0.95]), "dateline": rng.choice([0.0, 0.3, 0.9])},
        ))
    return outlets


def byline(outlet: Outlet, rng: Random) -> str:
    r = rng.random()
    if r < 0.6:
        return f"By {rng.choice(outlet.staff)}, Staff Writer"
    if r < 0.8:
        a, b = rng.sample(outlet.staff, 2)
        return f"By {a} and {b}, {outlet.name} Staff"
    if r < 0.9:
        return f"By {rng.choice(outlet.staff)}"
    return "From staff and wire reports"


# ---------------------------------------------------------------- companies
_CO_A = ("Halvorsen Brightwater Kestrel Northgate Ambervale Corvane Ridgeline Solvara "
         "Tamberlin Quillfield Veridian Ostrander Pellham Marwick Castellan Dunleigh").split()
_CO_B = ["Industrial Group Inc", "Holdings Corp", "Technologies Ltd", "Systems Inc",
         "Resources Corp", "Financial Group", "Manufacturing Co", "Energy Partners LP"]
_INDUSTRY = [("specialty chemicals", "coatings, adhesives and industrial solvents"),
             ("industrial equipment", "pumps, valves and flow-control systems"),
             ("information technology", "data processing, networking and storage products"),
             ("energy", "natural gas gathering, processing and pipeline services"),
             ("financial services", "commercial lending, leasing and treasury services"),
             ("consumer products", "household cleaners, personal care and packaged foods")]
_SECTORS = ["automotive", "aerospace", "construction", "agriculture", "healthcare",
            "utilities", "retail", "transportation", "mining", "telecommunications"]
_CITIES = ["Chicago", "Houston", "Boston", "Atlanta", "Denver", "Cleveland", "Minneapolis",
           "Pittsburgh", "Dallas", "Toronto", "London", "Stamford"]


@dataclass
class Company:
    name: str
    city: str
    pr_outlet: str
    about: list[str]  # the "About <Company>" heading + boilerplate sentences
    contact: str


def make_companies(rng: Random, n: int, pr_outlets: list[str]) -> list[Company]:
    """``n`` fictional companies, each with a ~5-sentence About boilerplate."""
    cos, seen = [], set()
    while len(cos) < n:
        name = f"{rng.choice(_CO_A)} {rng.choice(_CO_B)}"
        if name in seen:
            continue
        seen.add(name)
        short = name.split()[0]
        ind, products = rng.choice(_INDUSTRY)
        s1, s2, s3 = rng.sample(_SECTORS, 3)
        city = rng.choice(_CITIES)
        about = [
            f"About {name}",
            f"{name} is a leading {ind} company headquartered in {city}.",
            f"Founded in {rng.randint(1890, 1975)}, {short} operates {rng.randint(8, 60)} "
            f"facilities in {rng.randint(3, 25)} countries and employs approximately "
            f"{rng.randint(2, 40) * 500:,} people worldwide.",
            f"The company's products and services include {products}, serving customers "
            f"in the {s1}, {s2} and {s3} markets.",
            f"{short} reported annual revenues of approximately {rng.randint(2, 90) * 50} "
            f"mln dlrs in 1986 and its common shares are traded on the "
            f"{rng.choice(['New York Stock Exchange', 'American Stock Exchange', 'NASDAQ'])} "
            f"under the symbol {short[:3].upper()}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}.",
            "This release contains forward-looking statements that involve risks and "
            "uncertainties, and actual results may differ materially from those projected.",
        ]
        contact = (f"Contact: {rng.choice(_FIRST)} {rng.choice(_LAST)}, Investor Relations, "
                   f"{name}, (555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}")
        cos.append(Company(name, city, rng.choice(pr_outlets), about, contact))
    return cos
