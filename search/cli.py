"""The `rcsearch` command: index, search, serve, stats."""
from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import click
from tqdm import tqdm

from search.index import current_generation, update_index
from search.query import Engine, Filters, QueryError, SearchRequest
from search.query import overview as collection_overview

DEFAULT_SOURCES = "seeds"
DEFAULT_INDEX = "index"


def _index_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("RCSEARCH_INDEX", DEFAULT_INDEX))


def _sources(values: tuple[str, ...]) -> list[Path]:
    return [Path(v) for v in values] or [Path(os.environ.get("RCSEARCH_SOURCES", DEFAULT_SOURCES))]


def _progress(items, total):
    """A progress bar on a terminal, nothing when output is redirected."""
    return tqdm(items, total=total, unit="file", desc="indexing", disable=None, file=sys.stderr)


@click.group()
@click.version_option(package_name="rcsearch")
def cli():
    """rcsearch: full-text search over Chinese Red Cross work reports."""


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=str))
@click.option("--index", "index_dir", help="Index folder (default: index/ or $RCSEARCH_INDEX).")
@click.option("--rebuild", is_flag=True, help="Build a fresh index aside and swap it in.")
@click.option("--workers", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True,
              help="Processes used to read and analyse files.")
def index(sources, index_dir, rebuild, workers):
    """Index new, changed and removed report files (default source folder: seeds/).

    Exit status: 0 when every file indexed, 1 when some failed (they are
    listed; the rest are indexed and old versions of failed files stay).
    """
    directory = _index_dir(index_dir)
    try:
        summary = update_index(_sources(sources), directory, rebuild=rebuild, workers=workers,
                               progress=_progress, on_wait=lambda: click.echo(
                                   f"waiting for another `rcsearch index` on {directory} to finish…", err=True))
    except PermissionError as exc:
        raise click.ClickException(f"cannot write the index in {directory}: {exc.strerror} ({exc.filename})") from None
    if summary.rebuilt_outdated:
        click.echo("the index was built by an older rcsearch: rebuilt from every source file", err=True)
    for name, reason in summary.failed:
        click.echo(f"failed: {name}: {reason}", err=True)
    if not summary.changed and not rebuild:
        click.echo(f"index is up to date: nothing to do ({summary.line()})")
    else:
        click.echo(summary.line())
    sys.exit(1 if summary.failed else 0)


@cli.command()
@click.argument("query", required=False, default="")
@click.option("--city", multiple=True, help="Filter by city or county (repeatable).")
@click.option("--province", multiple=True, help="Filter by province (repeatable).")
@click.option("--topic", multiple=True, help="Filter by topic (repeatable).")
@click.option("--year", multiple=True, type=int, help="Filter by year (repeatable).")
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print exactly what /api/search returns.")
@click.option("--index", "index_dir", help="Index folder (default: index/ or $RCSEARCH_INDEX).")
def search(query, city, province, topic, year, limit, page, sort, as_json, index_dir):
    """Search the index and print the matching passages, highlighted."""
    engine = _engine(index_dir)
    request = SearchRequest(q=query, filters=Filters(city, province, topic, year),
                            page=page, limit=limit, sort=sort)
    try:
        result = engine.search(request)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.total} passages in {result.total_reports} reports ({result.took_ms} ms)")
    for hit in result.hits:
        region = " › ".join(filter(None, (hit.province, hit.city, hit.county)))
        click.echo()
        click.secho(f"{hit.title}  [{hit.doc_id} #{hit.passage}]", bold=True)
        click.echo(f"  {region or '—'} · {hit.year or '—'} · {', '.join(hit.topics) or '—'} · {hit.heading}")
        click.echo("  " + _terminal_snippet(hit.snippet))
    for name, buckets in result.facets.items():
        if buckets:
            click.echo(f"\n{name}: " + ", ".join(f"{b.value} ({b.count})" for b in buckets[:10]))


def _terminal_snippet(snippet: str) -> str:
    """A snippet with <mark> shown as terminal highlighting."""
    parts = re.split(r"(<mark>.*?</mark>)", snippet)
    return "".join(click.style(html.unescape(p[6:-7]), fg="red", bold=True) if p.startswith("<mark>")
                   else html.unescape(p) for p in parts)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--index", "index_dir", help="Index folder (default: index/ or $RCSEARCH_INDEX).")
@click.option("--threads", type=int, default=8, show_default=True)
def serve(host, port, index_dir, threads):
    """Serve the search UI and JSON API on a production WSGI server (waitress)."""
    from waitress import serve as waitress_serve

    from web import create_app
    from web.engine import get_engine

    directory = _index_dir(index_dir)
    if current_generation(directory) is None:
        click.echo(f"no index in {directory}: building it from {_sources(())[0]} first")
        try:
            summary = update_index(_sources(()), directory, progress=_progress)
        except PermissionError as exc:
            raise click.ClickException(f"no index in {directory}, and it cannot be built there: "
                                       f"{exc.strerror} ({exc.filename})") from None
        click.echo(summary.line())
    app = create_app({"INDEX_DIR": str(directory)})
    with app.app_context():
        # Load the dictionaries, gazetteer and index columns now, not in the first user's request.
        get_engine().view()
    click.echo(f"serving on http://{host}:{port}")
    waitress_serve(app, host=host, port=port, threads=threads, ident="rcsearch")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--index", "index_dir", help="Index folder (default: index/ or $RCSEARCH_INDEX).")
def stats(as_json, index_dir):
    """Reports and passages per province, city, topic and year."""
    overview = collection_overview(_engine(index_dir))
    if as_json:
        click.echo(json.dumps(overview.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{overview.reports} reports, {overview.passages} passages")
    for name, rows in overview.to_json()["facets"].items():
        click.echo(f"\n{name}:")
        for row in rows:
            click.echo(f"  {row['value']}: {row['reports']} reports, {row['passages']} passages")


def _engine(index_dir: str | None) -> Engine:
    directory = _index_dir(index_dir)
    if current_generation(directory) is None:
        raise click.ClickException(f"no index in {directory}: run `rcsearch index` first")
    return Engine(directory)


def main():
    cli()
