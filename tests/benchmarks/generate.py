"""Deterministic synthetic report collection for the benchmarks.

Paragraphs and headings of the project's seed reports (``seeds/``) are
recombined across reports; every report gets a real region (a prefecture-level
city and its province from the gazetteer), substituted for the seeds' own place
names consistently within the report, title block included, and fresh figures
(numbers, dates, years). Reports are 2–8 KB of UTF-8 text laid out like the
seeds: a title line, a ``——`` subtitle line naming the region, then headings
and paragraphs separated by blank lines.

Report ``i`` depends only on ``i`` and the seeds (one seeded RNG per report),
so a 1k collection is the first 1k reports of a 10k one.

A collection is written as a stream, one report at a time: OUT_DIR/reports/
holds the report files and OUT_DIR/passages.jsonl the passages rcsearch cuts
from them, each with the facet values rcsearch's enrichment gives it. Memory
stays flat whatever the size.

    python -m tests.benchmarks.generate OUT_DIR (--reports N | --passages N) [--seed 20240601]
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from search import enrich
from search.enrich import COMMON_WORDS, Division, Gazetteer, short_name
from search.index import analyse_file
from search.sources import SourceFile
from search.ingest import read_document

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
DEFAULT_SEED = 20240601
MIN_BYTES, MAX_BYTES = 2048, 8192
# Bumped whenever the output changes, so cached collections are regenerated.
# 2: passages.jsonl carries each passage's report, number and facet values.
VERSION = 2
PASSAGES = "passages.jsonl"
# Reports whose passages are counted to turn a passage count into a report count.
SAMPLE_REPORTS = 5_000
PROGRESS_EVERY = 5000  # reports

TITLES = (  # the seeds' headlines, and heading lines that read as headlines
    "高扬旗帜 逐梦前行",
    "用爱心凝聚人道力量 用行动弘扬红十字精神",
    "砥砺奋进 担当作为 奋力书写红十字事业高质量发展新篇章",
    "在大战大考中践行初心使命 奋力谱写新时代新篇章",
    "深化改革强化服务 全力打造“群众身边的红十字会”",
    "牢记初心使命 争当救援先锋",
    "数字赋能博爱家园 促进乡村振兴",
    "贯彻落实党的群团工作会议精神",
    "凝心聚力谋发展 博爱为民谱新篇",
    "践行人道使命 守护生命健康",
)
SUBTITLES = (
    "——{city}红十字事业发展回眸",
    "——{city}红十字会{span}年工作纪实",
    "——{province}{city}红十字会{year}年工作总结与回顾",
    "——{city}红十字会第{congress}次会员代表大会以来工作纪实",
    "——{province}{city}红十字会{year}年工作综述",
)
SPANS = "三四五"
CONGRESSES = "二三四五六七"
NOTE = re.compile(r"^([▲△●■◆]|[(（])")
NUMBER = re.compile(r"(?<![A-Za-z.])(\d+)(?:\.(\d+))?(?=(\D|$))")


@dataclass(frozen=True)
class Paragraph:
    text: str
    seed: int        # index of the seed report it comes from
    year: int        # that seed report's year
    size: int        # UTF-8 bytes


@dataclass(frozen=True)
class Pool:
    """What the seeds offer: paragraphs, headings, and the seeds' own regions."""

    paragraphs: tuple[Paragraph, ...]
    headings: tuple[str, ...]
    home_provinces: frozenset[str]   # adcodes of the seeds' own provinces
    home_cities: frozenset[str]      # adcodes of the seeds' own cities
    digest: str                      # of the seed files, for cache keys


@functools.lru_cache(maxsize=1)
def pool(seeds: Path = SEEDS) -> Pool:
    """Paragraphs (after ingest's line-break repair) and headings of the seed reports."""
    gazetteer = Gazetteer.load()
    paragraphs, headings, provinces, cities = [], [], set(), set()
    digest = hashlib.sha256(str(VERSION).encode())
    for number, path in enumerate(sorted(seeds.glob("*.txt")) + sorted(seeds.glob("*.md"))):
        digest.update(path.read_bytes())
        doc = read_document(path)
        year = enrich.report_year(doc.title + "\n" + "\n".join(doc.lead_lines), doc.source) or 2020
        region = enrich.detect_region("\n".join(doc.lead_lines or (doc.title,)),
                                      [p.text for p in doc.passages], gazetteer)
        for code in gazetteer.region_codes(region):
            (provinces if code.endswith("0000") else cities).add(code)
        for passage in doc.passages:
            if passage.role == "paragraph" and len(passage.text) >= 30 and not NOTE.match(passage.text):
                paragraphs.append(Paragraph(passage.text, number, year, len(passage.text.encode())))
            elif passage.role == "heading":
                headings.extend(line for line in passage.text.split("\n")
                                if 8 <= len(line) <= 30 and not line.endswith(("红十字会", "救援队", "服务队")))
    return Pool(tuple(paragraphs), tuple(dict.fromkeys(headings)), frozenset(provinces), frozenset(cities),
                digest.hexdigest()[:16])


@functools.lru_cache(maxsize=1)
def _targets() -> tuple[tuple[Division, ...], dict[str, tuple[Division, ...]], dict[str, tuple[Division, ...]]]:
    """Prefecture-level cities a report may come from, and each province's cities and each city's counties."""
    gazetteer = Gazetteer.load()
    divisions = sorted(gazetteer.divisions.values(), key=lambda d: d.code)
    provinces = {d.code[:2]: d for d in divisions if d.level == "province"}
    cities = tuple(d for d in divisions if d.level == "city" and d.name.endswith("市")
                   and short_name(d.name) and short_name(d.name) not in COMMON_WORDS
                   and d.code[:2] in provinces and d.code[:2] not in enrich.MUNICIPALITIES)
    by_province: dict[str, list[Division]] = {}
    for city in cities:
        by_province.setdefault(city.code[:2], []).append(city)
    counties: dict[str, list[Division]] = {}
    for d in divisions:
        if d.level == "county" and d.name.endswith(("县", "区", "市")) and len(d.name) >= 3 \
                and d.name not in COMMON_WORDS and d.city != d.name:
            counties.setdefault(d.code[:4], []).append(d)
    return (cities, {k: tuple(v) for k, v in by_province.items()}, {k: tuple(v) for k, v in counties.items()})


class Places:
    """One report's consistent substitution of place names: seed division -> synthetic division."""

    def __init__(self, rng: random.Random, city: Division, pool: Pool):
        self.rng, self.city, self.pool = rng, city, pool
        gazetteer = Gazetteer.load()
        self.gazetteer = gazetteer
        self.province = gazetteer.divisions[city.code[:2] + "0000"]
        self.mapping: dict[str, Division] = {}
        self.cities, self.by_province, self.counties = _targets()
        self.other_provinces = [d for d in sorted(gazetteer.divisions.values(), key=lambda d: d.code)
                                if d.level == "province" and d.code != self.province.code]

    def target(self, d: Division) -> Division:
        if d.code in self.mapping:
            return self.mapping[d.code]
        if d.level == "province":
            target = self.province if d.code in self.pool.home_provinces else self.rng.choice(self.other_provinces)
        elif d.level == "city":
            siblings = [c for c in self.by_province.get(self.city.code[:2], ()) if c.code != self.city.code]
            target = self.city if d.code in self.pool.home_cities or not siblings else self.rng.choice(siblings)
        else:
            parent = self.gazetteer.divisions.get(d.code[:4] + "00")
            parent = self.target(parent) if parent and parent.level == "city" else self.city
            choices = self.counties.get(parent.code[:4]) or self.counties.get(self.city.code[:4]) or (parent,)
            target = self.rng.choice(choices)
        self.mapping[d.code] = target
        return target

    def substitute(self, text: str) -> str:
        """Text with every unambiguous, non-common-word place name replaced, in the same form (full or short)."""
        out, cursor = [], 0
        for m in self.gazetteer.scan(text):
            if len(m.candidates) != 1 or m.name in COMMON_WORDS:
                continue
            d = m.candidates[0]
            if d.level == "county" and (m.name != d.name or len(m.name) < 3):
                continue   # short county names (东阳, 永昌) are too often ordinary words
            target = self.target(d)
            name = target.name if m.name == d.name else (short_name(target.name) or target.name)
            out.append(text[cursor:m.start] + name)
            cursor = m.end
        out.append(text[cursor:])
        return "".join(out)


def _figures(text: str, rng: random.Random, shift: int, year: int) -> str:
    """Numbers replaced by others of the same size; years shifted to the report's year; dates kept valid."""
    def replace(match: re.Match) -> str:
        whole, fraction, after = match.group(1), match.group(2), text[match.end():match.end() + 1]
        value = int(whole)
        if len(whole) == 4 and 1990 <= value <= 2030 and fraction is None:
            return str(min(year, value + shift))
        if fraction is None and after in "月":
            return str(rng.randint(1, 12))
        if fraction is None and after in "日号":
            return str(rng.randint(1, 28))
        if fraction is None and after == "时":
            return str(rng.randint(0, 23))
        if fraction is None and after in "分":
            return str(rng.randint(0, 59))
        if len(whole) == 1:
            new = str(rng.randint(1, 9))
        else:
            new = str(rng.randint(10 ** (len(whole) - 1), 10 ** len(whole) - 1))
        if fraction is not None:
            new += "." + "".join(str(rng.randint(0, 9)) for _ in fraction)
        return new
    return NUMBER.sub(replace, text)


def report(number: int, seed: int = DEFAULT_SEED, variant: int = 0) -> tuple[str, str]:
    """(doc_id, text) of synthetic report `number`; `variant` > 0 gives an edited version of it."""
    p = pool()
    rng = random.Random(f"{seed}:{number}:{variant}")
    cities = _targets()[0]
    city = rng.choice(cities)
    places = Places(rng, city, p)
    year = rng.randint(2016, 2024)
    province = places.province.name
    subtitle = rng.choice(SUBTITLES).format(city=city.name, province=province, year=year,
                                            span=rng.choice(SPANS), congress=rng.choice(CONGRESSES))
    if len(subtitle) > 38:
        subtitle = subtitle.replace(province, "")
    lines = [rng.choice(TITLES), subtitle]
    target = int(rng.triangular(MIN_BYTES, MAX_BYTES, 4096))
    size = sum(len(line.encode()) + 2 for line in lines)
    unused = list(range(len(p.paragraphs)))
    rng.shuffle(unused)
    headings = list(p.headings)
    rng.shuffle(headings)

    def take(room: int) -> str | None:
        for k, index in enumerate(unused):
            para = p.paragraphs[index]
            if para.size + 2 <= room:
                del unused[k]
                return _figures(places.substitute(para.text), rng, year - para.year, year)
        return None

    # An opening paragraph before the first heading, as in most seeds.
    if rng.random() < 0.8 and (text := take(target - size)):
        lines.append(text)
        size += len(text.encode()) + 2
    while size < target and headings:
        heading = places.substitute(headings.pop())
        section = [heading]
        section_size = len(heading.encode()) + 2
        for _ in range(rng.randint(1, 4)):
            text = take(min(MAX_BYTES, max(target, MIN_BYTES + 600)) - size - section_size)
            if text is None:
                break
            section.append(text)
            section_size += len(text.encode()) + 2
        if len(section) == 1:
            break
        lines.extend(section)
        size += section_size
    body = "\n\n".join(lines) + "\n"
    while len(body.encode()) < MIN_BYTES and (text := take(MAX_BYTES - len(body.encode()) - 2)):
        body += "\n" + text + "\n"
    return f"syn_{number:06d}", body


def write_report(folder: Path, number: int, seed: int = DEFAULT_SEED) -> Path:
    """Report `number` written as folder/syn_NNNNNN.txt (UTF-8)."""
    doc_id, text = report(number, seed)
    path = folder / f"{doc_id}.txt"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Written:
    """What write_collection wrote."""

    reports: int
    passages: int
    source_bytes: int
    seconds: float
    peak_rss_mb: float  # of this process, at the end


def passage_lines(path: Path, folder: Path) -> list[str]:
    """The JSON lines of a report's passages: text, report id, passage number and the facet
    values rcsearch gives them (province, city, topics, year), as its indexer computes them."""
    _, records = analyse_file(SourceFile(path.stem, path, path.name, folder))
    return [json.dumps({"report": r["doc_id"], "passage": r["passage"], "text": r["text"],
                        "province": r["province"], "city": r["city"],
                        "topics": [t for t in r["topics"].split(",") if t], "year": r["year"]},
                       ensure_ascii=False) + "\n" for r in records]


def write_collection(out_dir: Path, reports: int, seed: int = DEFAULT_SEED) -> Written:
    """Reports 0 .. reports-1 in out_dir/reports/ and their passages in out_dir/passages.jsonl,
    one report at a time: nothing of the collection is kept in memory."""
    folder = out_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    passages = size = 0
    with (out_dir / PASSAGES).open("w", encoding="utf-8") as out:
        for number in range(reports):
            path = write_report(folder, number, seed)
            size += path.stat().st_size
            lines = passage_lines(path, folder)
            out.writelines(lines)
            passages += len(lines)
            if (number + 1) % PROGRESS_EVERY == 0:
                print(f"{number + 1} reports, {passages} passages, {size / 1e6:.0f} MB, "
                      f"{time.perf_counter() - started:.0f} s, peak RSS so far {peak_rss_mb():.0f} MB", file=sys.stderr)
    return Written(reports, passages, size, time.perf_counter() - started, peak_rss_mb())


def peak_rss_mb() -> float:
    """The most memory this process has held so far (ru_maxrss), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@functools.lru_cache(maxsize=4)
def passages_per_report(seed: int = DEFAULT_SEED, sample: int = SAMPLE_REPORTS) -> float:
    """Mean passages rcsearch cuts from a report, over the first `sample` reports."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        count = sum(len(read_document(write_report(folder, n, seed)).passages) for n in range(sample))
    return count / sample


def reports_for(passages: int, seed: int = DEFAULT_SEED) -> int:
    """How many reports make a collection of about `passages` passages."""
    return max(1, round(passages / passages_per_report(seed)))


def expected_region(number: int, seed: int = DEFAULT_SEED) -> tuple[str, str]:
    """(province, city) a report was generated for."""
    rng = random.Random(f"{seed}:{number}:0")
    city = rng.choice(_targets()[0])
    return city.province, city.name


def count(text: str) -> int:
    """A count as people write it: 1000, 10k, 1.5m, 1M, 1,000,000."""
    text = text.strip().lower().replace(",", "").replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        return round(float(text[:-1] if factor > 1 else text) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (write 1000, 10k or 1m)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--reports", type=count, help="how many reports (1000, 10k)")
    size.add_argument("--passages", type=count, help="about how many passages (100k, 1m): reports are "
                      f"counted from the passages per report of the first {SAMPLE_REPORTS}")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    reports = args.reports if args.reports is not None else reports_for(args.passages, args.seed)
    written = write_collection(args.out_dir, reports, args.seed)
    print(json.dumps(asdict(written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
