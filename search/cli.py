"""The `rcsearch` command: index, search, serve, stats.

The query engine (and pypinyin's dictionaries behind it) is imported by the commands that
search: `rcsearch index` would load it for nothing, a quarter of a second per run."""
from __future__ import annotations

import gc
import html
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from search import export, memory
from search.index import POOL_MB, Summary, current_generation, update_index
from search.sources import SourceError, shown_name
from search.facets import FACETS, Filters
from search.figure_table import DEFAULT_LIMIT as FIGURE_LIMIT, MAX_LIMIT as MAX_FIGURE_LIMIT
from search.figure_table import SEARCH_SORTS as FIGURE_SORTS
from search.querylang import MAX_EXPORT_ROWS

if TYPE_CHECKING:
    from search.engine import Engine

DEFAULT_SOURCES = "seeds"
DEFAULT_INDEX = "index"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # where `rcsearch serve` listens by default
MAX_WORKERS = 64
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _index_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("RCSEARCH_INDEX", DEFAULT_INDEX))


def _sources(values: tuple[str, ...]) -> list[Path]:
    return [Path(v) for v in values] or [Path(os.environ.get("RCSEARCH_SOURCES", DEFAULT_SOURCES))]


def usable_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """CPUs this process may use: its affinity mask, within a cgroup CPU quota, 1..MAX_WORKERS."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, min(count, MAX_WORKERS))


def _progress(items, total):
    """A progress bar on a terminal, nothing when output is redirected."""
    return tqdm(items, total=total, unit="file", desc="indexing", disable=None, file=sys.stderr)


index_option = click.option("--index", "index_dir", metavar="DIR",
                            help="Index folder (default: index/ or $RCSEARCH_INDEX).")


exact_spelling_option = click.option(
    "--exact-spelling", is_flag=True, help="Search exactly what was typed: a term that finds nothing is not "
                                           "searched as the word it sounds like (correct=false in the API).")
no_places_option = click.option(
    "--no-places", is_flag=True, help="Search a word that names a place (石家庄, 浙江) as text only, not also as the "
                                      "passages of that place (places=false in the API).")
base_url_option = click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, metavar="URL",
                               help="The server the links in CSV point to.")

# The search command prints this many values of each facet, and how many more there are.
FACET_LINE = 10


def facet_options(command):
    """A --<facet> option per facet (search/facets.py), repeatable: values OR, facets AND."""
    for facet in reversed(FACETS):
        command = click.option(f"--{facet.name}", multiple=True, type=facet.kind, metavar=facet.metavar,
                               help=f"{facet.description} (repeatable).")(command)
    return command


@click.group()
@click.version_option(package_name="rcsearch")
def cli():
    """rcsearch: full-text search over Chinese Red Cross work reports."""


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=str))
@index_option
@click.option("--rebuild", is_flag=True, help="Build a fresh index aside and swap it in.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=usable_cpus, show_default="CPUs available",
              metavar="N",
              help="Processes used to read and analyse files.")
@click.option("--yes", "-y", is_flag=True, help="Remove more than half of the indexed reports without asking.")
@click.option("--pool-mb", type=click.IntRange(16, 65536), default=POOL_MB, show_default=True, metavar="MB",
              help="Postings each writer process holds in memory before spilling to disk: the indexer "
                   "needs about workers × (this + 250 MB).")
def index(sources, index_dir, rebuild, workers, yes, pool_mb):
    """Index new, changed and removed report files (default source folder: seeds/).

    A run that would remove more than half of the indexed reports asks first on a
    terminal, and otherwise refuses unless --yes is given.

    Exit status: 0 when every file indexed, 1 when some failed (they are
    listed; the rest are indexed and old versions of failed files stay),
    2 on a usage error (a source that does not exist, a refused removal).
    """
    directory = _index_dir(index_dir)
    memory.return_freed_memory()  # the pool's large arrays, freed at each spill and after the commit
    try:
        summary = update_index(_sources(sources), directory, rebuild=rebuild, workers=workers, pool_mb=pool_mb,
                               progress=_progress, confirm_removal=lambda s: yes or _confirm_removal(s),
                               on_wait=lambda: click.echo(
                                   f"waiting for another `rcsearch index` on {directory} to finish…", err=True))
    except SourceError as exc:
        raise click.UsageError(f"{exc}; nothing was changed") from None
    except PermissionError as exc:
        raise click.ClickException(f"cannot write the index in {directory}: {exc.strerror} ({exc.filename})") from None
    if summary.refused:
        click.echo(_removal_list(summary), err=True)
        raise click.UsageError(f"refused to remove {len(summary.removed)} of {summary.indexed_before} indexed reports; "
                               "nothing was changed. Check the source folder, or run again with --yes.")
    if summary.rebuilt_outdated:
        click.echo("the index was built by an older rcsearch: rebuilt from every source file", err=True)
    elif summary.data_changed:
        click.echo("the user dictionary, the topics or rcsearch itself changed since the last run: "
                   "every report reindexed", err=True)
    if summary.prepared_again:
        click.echo("the index's prepared columns were missing or written by another rcsearch "
                   "(a run killed before it wrote them): written now", err=True)
    for name, reason in summary.failed:
        click.echo(f"failed: {shown_name(name)}: {reason}", err=True)
    if not summary.changed and not rebuild:
        click.echo(f"index is up to date: nothing to do ({summary.line()})")
    else:
        click.echo(summary.line())
    sys.exit(1 if summary.failed else 0)


def _removal_list(summary: Summary, shown: int = 20) -> str:
    names = summary.removed[:shown] + ([f"… and {len(summary.removed) - shown} more"]
                                       if len(summary.removed) > shown else [])
    return (f"this run would remove {len(summary.removed)} of {summary.indexed_before} indexed reports "
            "(their files are not in the sources):\n" + "\n".join(f"  {shown_name(name)}" for name in names))


def _confirm_removal(summary: Summary) -> bool:
    """Ask on a terminal; anywhere else (scripts, cron) the answer is no."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    click.echo(_removal_list(summary), err=True)
    return click.confirm("remove them from the index?", default=False, err=True)


@cli.command()
@click.argument("query", required=False, default="")
@facet_options
@click.option("--limit", type=int, default=10, show_default=True, metavar="N", help="Passages per page (1-100).")
@click.option("--page", type=int, default=1, show_default=True, metavar="N", help="Page of results.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              metavar="relevance|date", help="Best passages first, or newest reports first.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly what /api/search returns.")
@click.option("--format", "export_format", type=click.Choice(["csv", "jsonl"]), metavar="csv|jsonl",
              help="Print the hits as CSV (UTF-8 with BOM, for Excel and WPS) or JSON Lines (the API's hits), "
                   "as GET /api/export does.")
@click.option("--all", "every", is_flag=True,
              help=f"With --format: every matching passage, not one page (at most {MAX_EXPORT_ROWS}).")
@exact_spelling_option
@no_places_option
@base_url_option
@index_option
def search(query, limit, page, sort, as_json, export_format, every, exact_spelling, no_places, base_url, index_dir,
           **selected):
    """Search the index and print the matching passages, highlighted.

    A term that finds nothing as typed and is no word or name is searched as the word it
    sounds like (造血肝细胞 → 造血干细胞, wuchangxianxue → 无偿献血); the output says so
    (on stderr with --json and --format), and --exact-spelling searches what was typed.
    A word that names a place also finds that place's passages (石家庄 救灾 finds 我市's
    救灾); the output says which place it understood, and --no-places searches it as text."""
    from search.querylang import QueryError, SearchRequest
    if as_json and export_format:
        raise click.UsageError("--json prints one page as /api/search answers it; --format exports hits: choose one")
    if every and not export_format:
        raise click.UsageError("--all exports every matching passage: add --format csv or --format jsonl")
    engine = _engine(index_dir)
    request = SearchRequest(q=query, filters=Filters(**selected), page=page, limit=limit, sort=sort,
                            correct=not exact_spelling, places=not no_places)
    try:
        result = engine.export(request) if every else engine.search(request)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if result.corrected_query is not None:
        # Beside data (JSON, CSV, JSON Lines) the notice goes to stderr, where it cannot corrupt it.
        click.echo(corrected_notice(query, result.corrected_query), err=bool(as_json or export_format))
    if not as_json:  # the JSON says it in `understood`; beside exported hits it goes to stderr
        for line in understood_lines(result.understood):
            click.echo(line, err=bool(export_format))
    if export_format:
        lines = (export.hits_csv(result.hits, base_url.rstrip("/")) if export_format == "csv"
                 else export.hits_jsonl(result.hits))
        for line in lines:  # bytes: UTF-8 whatever the terminal's encoding, as the API sends them
            click.echo(line.encode("utf-8"), nl=False)
        return
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.total} passages in {result.total_reports} reports ({result.took_ms} ms)")
    if result.missing:
        click.echo(f"以下结果不含「{'」「'.join(result.missing)}」 (no result holds: {' '.join(result.missing)})")
    if result.did_you_mean:
        click.echo(f"您是不是要找：{result.did_you_mean} (did you mean: {result.did_you_mean})")
    for offer in result.offers:
        click.echo(offer_line(offer))
    for hit in result.hits:
        region = " › ".join(filter(None, (hit.province, hit.city, hit.county)))
        click.echo()
        click.secho(f"{hit.title}  [{hit.doc_id} #{hit.passage}]", bold=True)
        click.echo(f"  {region or '—'} · {hit.level} · {hit.year or '—'} · {', '.join(hit.topics) or '—'} · {hit.heading}")
        click.echo("  " + _terminal_snippet(hit.snippet))
        lacks = [word for word in hit.missing if word not in result.missing]
        if lacks:
            click.echo(f"  缺少：{' '.join(lacks)} (missing)")
    for facet in FACETS:
        buckets = result.facets[facet.name]
        if buckets:
            more = len(buckets) - FACET_LINE + result.facets_more.get(facet.name, 0)
            click.echo(f"\n{facet.label} ({facet.name}): "
                       + ", ".join(f"{b.value}{facet.unit} ({b.count})" for b in buckets[:FACET_LINE])
                       + (f" … and {more} more" if more > 0 else ""))


@cli.command()
@click.argument("query", required=False, default="")
@facet_options
@click.option("--unit", metavar="UNIT", help="Only figures counted in this unit (人, 元, 例, 份 …; 万元 counts in 元).")
@click.option("--min", "minimum", metavar="N", help="Only figures of at least this value (3000, 1.5万).")
@click.option("--max", "maximum", metavar="N", help="Only figures of at most this value.")
@click.option("--approx/--exact", default=None,
              help="Only inexact figures (近, 约, 余, 多, 超过 …), or only exact ones.")
@click.option("--sort", type=click.Choice(FIGURE_SORTS), default="relevance", show_default=True,
              metavar="|".join(FIGURE_SORTS),
              help="The figures of the best passages first, of the newest reports first, or by value.")
@click.option("--limit", type=int, default=FIGURE_LIMIT, show_default=True, metavar="N",
              help=f"Figures per page (1-{MAX_FIGURE_LIMIT}).")
@click.option("--page", type=int, default=1, show_default=True, metavar="N", help="Page of figures.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly what /api/figures returns.")
@click.option("--format", "export_format", type=click.Choice(["csv", "jsonl"]), metavar="csv|jsonl",
              help="Print the figures as CSV (UTF-8 with BOM, for Excel and WPS) or JSON Lines (the API's "
                   "figures), as GET /api/figures/export does.")
@click.option("--all", "every", is_flag=True,
              help=f"With --format: every figure, not one page (at most {MAX_EXPORT_ROWS}).")
@exact_spelling_option
@no_places_option
@base_url_option
@index_option
def figures(query, unit, minimum, maximum, approx, sort, limit, page, as_json, export_format, every, exact_spelling,
            no_places, base_url, index_dir, **selected):
    """The figures of the passages a search returns (every passage's without a query):
    人数, 金额, 例数 … with what they count, region, year and report.

    Each figure is shown as written and as a value with 万/亿 applied; figures are counted
    and sorted, never added up (a 累计 figure and a 新增 one cannot be summed)."""
    from search.figure_search import amount_text, export_figures, figure_query, search_figures
    from search.querylang import QueryError, SearchRequest
    if as_json and export_format:
        raise click.UsageError("--json prints one page as /api/figures answers it; --format exports figures: "
                               "choose one")
    if every and not export_format:
        raise click.UsageError("--all exports every figure: add --format csv or --format jsonl")
    engine = _engine(index_dir)
    try:
        passages_sort, wanted = figure_query(sort, unit, minimum, maximum, approx, page, limit)
        request = SearchRequest(q=query, filters=Filters(**selected), sort=passages_sort, correct=not exact_spelling,
                                places=not no_places)
        found = export_figures(engine, request, wanted) if every else search_figures(engine, request, wanted)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if export_format:
        rows = found if every else found.figures
        lines = (export.figures_csv(rows, base_url.rstrip("/")) if export_format == "csv"
                 else export.figures_jsonl(rows))
        for line in lines:
            click.echo(line.encode("utf-8"), nl=False)
        return
    if as_json:
        click.echo(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{found.total} figures" + (f" (page {page} of {math.ceil(found.total / limit)})"
                                            if found.total > limit else ""))
    for figure in found.figures:
        region = " › ".join(filter(None, (figure.province, figure.city, figure.county))) or figure.level
        approximate = " (约数)" if figure.approx else ""
        click.echo(f"{amount_text(figure.value):>14} {figure.unit:<3} {click.style(figure.text, bold=True)}"
                   f"{approximate}  {figure.subject or '—'}  [{region} · {figure.year or '—'} · {figure.title} · "
                   f"{figure.doc_id} #{figure.passage}]")
    if found.units:
        more = len(found.units) - FACET_LINE
        click.echo("\n单位 (unit): " + ", ".join(f"{u.value} ({u.count})" for u in found.units[:FACET_LINE])
                   + (f" … and {more} more" if more > 0 else ""))


def corrected_notice(typed: str, searched: str) -> str:
    """What `rcsearch search` says when it searched something else than what was typed."""
    return (f"以下是「{searched}」的结果。仍然搜索「{typed}」：加上 --exact-spelling "
            f"(showing results for {searched}; add --exact-spelling to search exactly what was typed)")


def understood_lines(understood) -> list[str]:
    """What `rcsearch search` says of the words it read as places: one line per word."""
    words: dict[str, list[str]] = {}
    for entry in understood:
        words.setdefault(entry.term, []).append(entry.value)
    return [f"地区：{'、'.join(values)} · 来自搜索词「{term}」 (read as a place; --no-places searches it as text only)"
            for term, values in words.items()]


def offer_line(offer) -> str:
    """An offered search, as `rcsearch search` prints it: what it changes and what it finds."""
    facet = next(f for f in FACETS if f.name == offer.facet)
    if offer.term:
        return (f"也可按地区筛选：{offer.value}（「{offer.term}」，{offer.total} 条）: "
                f"rcsearch search {offer.query!r} --{facet.name} {offer.value}")
    return f"去掉筛选 {facet.label}：{offer.value}{facet.unit}（{offer.total} 条） (without --{facet.name} {offer.value})"


def _terminal_snippet(snippet: str) -> str:
    """A snippet with <mark> shown as terminal highlighting."""
    parts = re.split(r"(<mark>.*?</mark>)", snippet)
    return "".join(click.style(html.unescape(p[6:-7]), fg="red", bold=True) if p.startswith("<mark>")
                   else html.unescape(p) for p in parts)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Address to listen on.")
@click.option("--port", type=int, default=5000, show_default=True, metavar="PORT", help="Port to listen on.")
@index_option
@click.option("--threads", type=int, default=4, show_default=True, metavar="N",
              help="Requests served at once (each thread keeps a Whoosh searcher: a few MB).")
def serve(host, port, index_dir, threads):
    """Serve the search UI and JSON API on a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    from web import create_app
    from web.engine import get_engine

    memory.return_freed_memory(memory.SERVER_MMAP_THRESHOLD)
    directory = _index_dir(index_dir)
    if current_generation(directory) is None:
        click.echo(f"no index in {directory}: building it from {_sources(())[0]} first")
        try:
            summary = update_index(_sources(()), directory, progress=_progress)
        except SourceError as exc:
            raise click.UsageError(f"no index in {directory}, and no sources to build it from: {exc}") from None
        except PermissionError as exc:
            raise click.ClickException(f"no index in {directory}, and it cannot be built there: "
                                       f"{exc.strerror} ({exc.filename})") from None
        click.echo(summary.line())
    app = create_app({"INDEX_DIR": str(directory)})
    with app.app_context():
        get_engine().load()
    # What was loaded to serve lives as long as the server (the vocabulary: 280k objects at
    # 10^6 passages): the collector's full passes over it stalled a search 35-50 ms each.
    gc.freeze()
    click.echo(f"serving on http://{host}:{port}")
    waitress_serve(app, host=host, port=port, threads=threads, ident="rcsearch")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@index_option
def stats(as_json, index_dir):
    """Reports and passages per value of every facet (province, city, topic, year, level)."""
    from search.lookups import overview as collection_overview
    overview = collection_overview(_engine(index_dir))
    if as_json:
        click.echo(json.dumps(overview.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{overview.reports} reports, {overview.passages} passages")
    for facet in FACETS:
        click.echo(f"\n{facet.label} ({facet.name}):")
        for row in overview.facets[facet.name]:
            click.echo(f"  {row.value}{facet.unit}: {row.reports} reports, {row.passages} passages")


def _engine(index_dir: str | None) -> Engine:
    """An engine over the index, or the reason there is none and what to run."""
    from search.engine import Engine
    directory = _index_dir(index_dir)
    if current_generation(directory) is None:
        raise click.ClickException(f"no index in {directory}: run `rcsearch index` first")
    engine = Engine(directory)
    try:
        engine.view()
    except FileNotFoundError as exc:  # an index an older rcsearch built, or one removed meanwhile
        raise click.ClickException(str(exc)) from None
    return engine


SYNOPSIS_WIDTH = 100


def synopsis(name: str, command: click.Command) -> str:
    """One command's usage line, written from its parameters (wrapped, continuation indented)."""
    words = [f"rcsearch {name}"]
    for param in command.params:
        if isinstance(param, click.Argument):
            meta = param.name.upper()
            words.append(f"[{meta}...]" if param.nargs == -1 else meta if param.required else f"[{meta}]")
        elif isinstance(param, click.Option) and not param.hidden:
            flag = max(param.opts, key=len)
            if param.secondary_opts:  # a --this/--that pair
                flag += "|" + max(param.secondary_opts, key=len)
            words.append(f"[{flag}]" if param.is_flag else f"[{flag} {param.metavar}]" + ("..." if param.multiple else ""))
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) > SYNOPSIS_WIDTH:
            lines.append(" " * (len(words[0]) + 1) + word)
        else:
            lines[-1] += " " + word
    return "\n".join(lines)


def usage_block() -> str:
    """Every command's usage line: what `rcsearch --help` ends with and README's Use section shows."""
    return "\n".join(synopsis(name, command) for name, command in cli.commands.items())


cli.epilog = "\b\n" + usage_block()
for _name, _command in cli.commands.items():
    _command.epilog = "\b\n" + synopsis(_name, _command)


def main():
    cli()
