"""Query-string parameters that select results (filter, below, sort, model, cursors), checked.

The API and the gallery page read the same parameters, so a gallery URL and an API URL
with the same query string list the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from shared.models import Job
from shared.results import FILTERS, SORTS, Key, ResultQuery, decode_key, encode_key
from web.errors import ApiError


@dataclass(frozen=True)
class ResultSelection:
    query: ResultQuery
    after: Key | None
    before: Key | None


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", parameter=name)


def parse_query(args: MultiDict, job: Job) -> ResultQuery:
    """filter, below, sort and model; empty values mean 'not set' (as an HTML form sends)."""
    filter_ = args.get("filter") or None
    if filter_ not in (None, *FILTERS):
        raise _invalid("filter", f"one of {', '.join(FILTERS)}")
    sort = args.get("sort") or "ordinal"
    if sort not in SORTS:
        raise _invalid("sort", f"one of {', '.join(SORTS)}")
    model = args.get("model") or None
    if model is not None and model not in job.models:
        raise _invalid("model", f"one of this job's models: {', '.join(job.models)}")
    return ResultQuery(filter=filter_, below=_below(args.get("below")), sort=sort, model=model)


def _below(raw: str | None) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _invalid("below", "a confidence from 0 to 1, e.g. 0.5") from None
    if not 0 <= value <= 1:
        raise _invalid("below", "a confidence from 0 to 1, e.g. 0.5")
    return value


def parse_selection(args: MultiDict, job: Job) -> ResultSelection:
    """The query plus where the page starts: `after` (an ordinal) or an opaque `cursor`."""
    query = parse_query(args, job)
    after = _key(args, "cursor", query)
    if after is None and args.get("after") not in (None, ""):
        if query.by_confidence:
            raise _invalid("after", "sorted results page with 'cursor' (follow 'next')")
        after = (_integer(args, "after"),)
    return ResultSelection(query, after, _key(args, "before", query))


def _key(args: MultiDict, name: str, query: ResultQuery) -> Key | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        return decode_key(raw, query)
    except ValueError:
        raise _invalid(name, "not a cursor of this sort order (follow 'next')") from None


def _integer(args: MultiDict, name: str) -> int:
    try:
        return int(args[name])
    except ValueError:
        raise _invalid(name, "an integer") from None


def page_args(query: ResultQuery, *, after: Key | None = None,
              before: Key | None = None) -> dict[str, str]:
    """URL parameters for the page after (or before) a key, defaults left out."""
    values = {"filter": query.filter, "sort": None if query.sort == "ordinal" else query.sort,
              "model": query.model,
              "below": None if query.below is None else f"{query.below:g}"}
    args = {name: value for name, value in values.items() if value}
    if after is not None:
        # ordinal pages keep the API's original `after=<ordinal>`; sorted ones need both keys
        args.update({"cursor": encode_key(after)} if query.by_confidence
                    else {"after": str(after[0])})
    if before is not None:
        args["before"] = encode_key(before)
    return args
