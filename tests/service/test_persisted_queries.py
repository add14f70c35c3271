"""Persisted queries: Apollo's automatic persisted queries kept in Redis within a bound, and
trusted documents, so that widgets send short GETs a CDN caches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mallforum.app import create_app
from mallforum.persisted import PersistedQueries, load_trusted_documents, sha256_hex
from tests.forum import MODERATOR, create_board

BOARDS = "query Boards { boards { slug } }"
BOARD = "query Board($slug: String!) { board(slug: $slug) { slug name } }"


def persisted(text: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(text)}}


async def hashed_get(client, text: str, variables: dict | None = None, **headers: str):
    params = {"extensions": json.dumps(persisted(text))}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return await client.get("/graphql", params=params, headers=headers)


async def test_an_unknown_hash_asks_for_the_text_and_then_runs_from_the_hash(api, client):
    await create_board(api, "beauty")
    miss = await hashed_get(client, BOARD, {"slug": "beauty"})
    assert miss.status_code == 200  # Apollo's link disables APQ after a 4xx
    error = miss.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["cache-control"] == "private, no-store"
    sent = await client.post(
        "/graphql",
        json={"query": BOARD, "variables": {"slug": "beauty"}, "extensions": persisted(BOARD)},
    )
    assert sent.json() == {"data": {"board": {"slug": "beauty", "name": "Beauty"}}}
    hit = await hashed_get(client, BOARD, {"slug": "beauty"})
    assert hit.json() == {"data": {"board": {"slug": "beauty", "name": "Beauty"}}}
    assert hit.headers["cache-control"] == "public, max-age=30"
    assert (await hashed_get(client, BOARD, {"slug": "other"})).json() == {"data": {"board": None}}


async def test_registered_texts_are_kept_in_redis_for_every_process(app, client, settings):
    await client.post("/graphql", json={"query": BOARDS, "extensions": persisted(BOARDS)})
    services = app.state.services
    kept = services["persisted"]
    services["persisted"] = PersistedQueries(settings.apq_max_entries, settings.apq_max_bytes)
    try:  # another process: nothing in memory
        hit = await hashed_get(client, BOARDS)
    finally:
        services["persisted"] = kept
    assert hit.json() == {"data": {"boards": []}}
    redis = services["redis"]
    stored = await redis.client.hget(redis.keys.persisted_texts(), sha256_hex(BOARDS))
    assert stored.decode() == BOARDS


async def test_a_hash_that_is_not_the_texts_is_refused(client):
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex("{ viewer { id } }")}}
    response = await client.post("/graphql", json={"query": BOARDS, "extensions": wrong})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "data" not in response.json()
    assert (await hashed_get(client, "{ viewer { id } }")).json()["errors"][0]["message"] == (
        "PersistedQueryNotFound"
    )


async def test_texts_that_do_not_validate_are_not_kept(client):
    broken = "{ boards { slugg } }"
    await client.post("/graphql", json={"query": broken, "extensions": persisted(broken)})
    miss = await hashed_get(client, broken)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hashed_mutation_over_get_is_405(api, client):
    mutation = "mutation { checkIn { streak } }"
    token = api.token("alice")
    await client.post(
        "/graphql",
        json={"query": mutation, "extensions": persisted(mutation)},
        headers={"Authorization": f"Bearer {token}"},
    )
    response = await hashed_get(client, mutation)
    assert response.status_code == 405


async def test_redis_keeps_only_the_most_recently_used_texts(app, client, settings):
    services = app.state.services
    kept = services["persisted"]
    services["persisted"] = PersistedQueries(max_entries=3, max_bytes=settings.apq_max_bytes)
    texts = [f"query Q{n} {{ boards {{ slug }} }}" for n in range(5)]
    try:
        for text in texts:
            await client.post("/graphql", json={"query": text, "extensions": persisted(text)})
    finally:
        services["persisted"] = kept
    redis = services["redis"]
    stored = await redis.client.hkeys(redis.keys.persisted_texts())
    assert sorted(k.decode() for k in stored) == sorted(sha256_hex(t) for t in texts[2:])
    assert await redis.client.zcard(redis.keys.persisted_used()) == 3


async def test_without_redis_a_hash_is_a_miss_and_the_text_still_runs(app, client, redis_down):
    services = app.state.services
    kept = services["persisted"]
    services["persisted"] = PersistedQueries(max_entries=10, max_bytes=1000)
    try:
        async with redis_down():
            miss = await hashed_get(client, BOARDS)
            sent = await client.post(
                "/graphql", json={"query": BOARDS, "extensions": persisted(BOARDS)}
            )
    finally:
        services["persisted"] = kept
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert sent.json() == {"data": {"boards": []}}


# ---------------------------------------------------------------- trusted documents


@pytest.fixture
def trusted_documents(app, tmp_path: Path) -> Iterator[Path]:
    """The app runs only the `.graphql` files written to the returned directory."""
    (tmp_path / "boards.graphql").write_text(BOARDS)
    (tmp_path / "widgets").mkdir()
    (tmp_path / "widgets" / "board.graphql").write_text(BOARD)
    services = app.state.services
    kept = services["persisted"]
    services["persisted"] = PersistedQueries(10, 1000, load_trusted_documents(tmp_path))
    yield tmp_path
    services["persisted"] = kept


async def test_trusted_documents_run_by_hash_or_text_and_nothing_else(
    api, client, trusted_documents
):
    await create_board(api, "beauty")
    by_hash = await hashed_get(client, BOARD, {"slug": "beauty"})
    assert by_hash.json()["data"]["board"]["slug"] == "beauty"
    by_text = await client.post("/graphql", json={"query": BOARDS})
    assert by_text.json() == {"data": {"boards": [{"slug": "beauty"}]}}
    other = "{ boards { slug name } }"
    refused = await client.post("/graphql", json={"query": other})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    unknown = await hashed_get(client, other)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    with_text = await client.post("/graphql", json={"query": other, "extensions": persisted(other)})
    assert with_text.status_code == 400  # nothing is registered in trusted mode
    assert (await hashed_get(client, other)).json()["errors"][0]["message"] == (
        "PersistedQueryNotFound"
    )


async def test_moderators_may_send_any_document_in_trusted_mode(api, trusted_documents):
    response = await api.post("{ boards { slug name } }", as_=MODERATOR, roles=("moderator",))
    assert response.json() == {"data": {"boards": []}}
    member = await api.post("{ boards { slug name } }", as_="alice")
    assert member.status_code == 400


def test_manifests_of_apollo_and_graphql_codegen_load(tmp_path: Path):
    apollo = tmp_path / "apollo.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha256_hex(BOARDS), "body": BOARDS, "name": "Boards", "type": "query"}
                ],
            }
        )
    )
    assert load_trusted_documents(apollo) == {sha256_hex(BOARDS): BOARDS}
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({f"sha256:{sha256_hex(BOARD)}": BOARD}))
    assert load_trusted_documents(codegen) == {sha256_hex(BOARD): BOARD}


def test_a_manifest_whose_hash_is_not_its_texts_stops_start_up(settings, tmp_path: Path):
    manifest = tmp_path / "documents.json"
    manifest.write_text(json.dumps({"0" * 64: BOARDS}))
    broken = settings.model_copy(update={"trusted_documents": manifest})
    with pytest.raises(RuntimeError, match=r"MALLFORUM_TRUSTED_DOCUMENTS.*0000"):
        create_app(broken)
