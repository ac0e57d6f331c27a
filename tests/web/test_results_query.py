"""Filtered and sorted keyset pages of results, on both databases, against a brute-force oracle."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from shared.db import session_factory
from shared.models import Job, Prediction
from shared.results import (
    ResultQuery,
    _beyond,
    _filtered,
    count_results,
    decode_key,
    encode_key,
    find_results,
    iter_results,
)
from tests.support.databases import fresh_database, upgrade
from tests.support.fake_results import seed_job

IMAGES = 47  # not a multiple of any page size used below


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """A finished two-model job with failures, agreements and tied scores."""
    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        upgrade(url)
        Session = session_factory(url)
        with Session.begin() as session:
            fake = seed_job(session, None, images=IMAGES, failed_every=7, agree_every=4, seed=5)
            # ties: keyset order must break them by image id, never skip or repeat one (0.5 is
            # still above every second-ranked score the seed makes)
            for row in session.scalars(select(Prediction).where(Prediction.job_id == fake.id)):
                if row.image_id % 5 == 0:
                    row.labels = [{**row.labels[0], "score": 0.5}, *row.labels[1:]]
                    row.top1_score = 0.5
        with Session() as session:
            job = session.get(Job, fake.id)
            everything = list(iter_results(session, job))
            yield Session, job, everything, request.param


def walk(session, job, query: ResultQuery, limit: int) -> list[dict]:
    """Every page forwards, then every page backwards from the end: both must agree."""
    pages, after = [], None
    while True:
        page = find_results(session, job, query, after=after, limit=limit)
        pages.append(page)
        if page.next_key is None:
            break
        after = page.next_key
    forwards = [item for page in pages for item in page.items]
    backwards, before = [], pages[-1].prev_key
    while before is not None:
        page = find_results(session, job, query, before=before, limit=limit)
        backwards = page.items + backwards
        before = page.prev_key
    assert backwards + pages[-1].items == forwards or len(pages) == 1
    return forwards


def ordinals(items: list[dict]) -> list[int]:
    return [item["image"]["ordinal"] for item in items]


def top1(item: dict, model: str) -> dict | None:
    ranked = item["predictions"].get(model)
    return ranked[0] if ranked else None


def test_plain_pages_are_upload_order(seeded):
    Session, job, everything, _ = seeded
    with Session() as session:
        assert ordinals(walk(session, job, ResultQuery(), limit=10)) == list(range(IMAGES))
        assert count_results(session, job) == IMAGES


@pytest.mark.parametrize("name", ["disagree", "agree", "failed"])
def test_filters_match_the_oracle(seeded, name):
    Session, job, everything, _ = seeded

    def keep(item):
        if name == "failed":
            return item["image"]["status"] == "failed"
        if item["agreement"] is None:
            return False
        return item["agreement"]["top1"] == (name == "agree")

    expected = ordinals([item for item in everything if keep(item)])
    assert expected, "the seed should produce some of each"
    with Session() as session:
        assert ordinals(walk(session, job, ResultQuery(filter=name), limit=4)) == expected
        assert count_results(session, job, ResultQuery(filter=name)) == len(expected)


@pytest.mark.parametrize("model", ["vgg16", "resnet50"])
@pytest.mark.parametrize("sort", ["confidence", "-confidence"])
def test_sort_by_confidence_with_ties_and_below(seeded, model, sort):
    Session, job, _, _ = seeded
    with Session() as session:
        scores = session.execute(select(Prediction.image_id, Prediction.top1_score).where(
            Prediction.job_id == job.id, Prediction.model == model)).all()
        items = walk(session, job, ResultQuery(sort=sort, model=model, below=0.9), limit=6)
    expected = sorted(((score, image_id) for image_id, score in scores if score < 0.9),
                      reverse=sort.startswith("-"))
    assert [item["image"]["id"] for item in items] == [image_id for _, image_id in expected]


def test_below_filters_the_named_model_only(seeded):
    Session, job, everything, _ = seeded
    with Session() as session:
        items = walk(session, job, ResultQuery(below=0.3, model="resnet50"), limit=8)
    expected = [i for i in everything
                if top1(i, "resnet50") and top1(i, "resnet50")["score"] < 0.3]
    assert ordinals(items) == ordinals(expected)


def test_cursors_round_trip_exactly():
    by_score = ResultQuery(sort="confidence")
    key = (0.1 + 0.2, 12345)
    assert decode_key(encode_key(key), by_score) == key
    assert decode_key(encode_key((7,)), ResultQuery()) == (7,)
    for bad in ("x", "1:2:3", "0.5", "nan:x"):
        with pytest.raises(ValueError):
            decode_key(bad, by_score)


def test_sorted_pages_walk_the_confidence_index(seeded):
    """The plan, not a timing: a confidence page reads the index in order, without a sort."""
    Session, job, _, backend = seeded
    if backend != "sqlite":
        pytest.skip("PostgreSQL plans depend on its statistics; SQLite's are deterministic")
    with Session() as session:
        query = ResultQuery(sort="confidence", below=0.8)
        stmt, columns = _filtered(job, query)
        stmt = stmt.where(_beyond(columns, (0.2, 10), False)).order_by(*columns).limit(25)
        compiled = stmt.compile(compile_kwargs={"literal_binds": True})
        plan = " ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_predictions_job_model_score" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
