"""The service shell: endpoints, authentication, error masking and the exported schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jwt

from schema.schema import SDL_PATH, export_sdl
from tests.conftest import TEST_SECRET
from tests.forum import create_board, create_topic

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_CHECK = ROOT.parent / "shared" / "tools" / "contract_check.py"

VIEWER = "{ viewer { id nickname role status } }"


async def test_healthz_answers_ok(client):
    response = await client.get("/healthz")
    assert response.status_code == 200


async def test_readyz_names_nothing_failing_when_both_stores_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "failing": []}


async def test_anonymous_viewer_is_null(api):
    assert (await api(VIEWER))["viewer"] is None


async def test_first_request_of_a_sub_creates_its_member_and_later_tokens_update_it(api):
    first = (await api(VIEWER, as_="u-1"))["viewer"]
    assert first["nickname"] == "u-1" and first["role"] == "MEMBER" and first["status"] == "ACTIVE"
    token = jwt.encode({"sub": "u-1", "nickname": "新名字", "roles": ["moderator"]}, TEST_SECRET)
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    again = response.json()["data"]["viewer"]
    assert again["id"] == first["id"]
    assert again["nickname"] == "新名字" and again["role"] == "MODERATOR"


async def test_malformed_badly_signed_or_expired_tokens_get_401(api):
    expired = jwt.encode({"sub": "x", "exp": 1}, TEST_SECRET)
    wrong_key = jwt.encode({"sub": "x"}, "another-secret-0123456789abcdefghijkl")
    no_sub = jwt.encode({"nickname": "x"}, TEST_SECRET)
    for header in (
        "Bearer not-a-jwt",
        f"Bearer {expired}",
        f"Bearer {wrong_key}",
        f"Bearer {no_sub}",
        "Basic abc",
    ):
        response = await api.client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": header}
        )
        assert response.status_code == 401, header
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rs256_tokens_verify_with_the_public_key(settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from mallforum.auth import InvalidToken, decode_token

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rs_settings = settings.model_copy(update={"jwt_public_key": public})
    token = jwt.encode({"sub": "rs-user", "roles": ["admin", "bogus"]}, key, algorithm="RS256")
    principal = decode_token(rs_settings, token)
    assert principal.sub == "rs-user" and principal.roles == frozenset({"admin"})
    hs_token = jwt.encode({"sub": "rs-user"}, TEST_SECRET)
    try:
        decode_token(rs_settings, hs_token)
    except InvalidToken:
        pass
    else:
        raise AssertionError("an HS256 token passed RS256 verification")


async def test_mutations_are_refused_over_get(client):
    response = await client.get(
        "/graphql", params={"query": 'mutation { deleteTopic(id: "x") { deletedId } }'}
    )
    assert response.status_code in (400, 405)


async def test_the_console_is_served_to_browsers(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_over_deep_queries_are_refused(api):
    deep = (
        "{ boards { topics { edges { node { comments { edges { node { replies { edges { node {"
        " topic { comments { edges { node { author { topics { edges { node { id } } } } } } } } }"
        " } } } } } } } } } }"
    )
    for _ in range(2):  # the second time from the document cache, refused all the same
        response = await api.post(deep)
        assert "exceeds maximum operation depth" in response.json()["errors"][0]["message"]


async def test_a_cached_query_text_answers_each_request_with_its_own_variables(api):
    query = "query($slug: String!) { board(slug: $slug) { slug } }"
    misspelt = "{ boards { slugg } }"
    await create_board(api, "beauty")
    for _ in range(2):
        assert (await api(query, {"slug": "beauty"}))["board"] == {"slug": "beauty"}
        assert (await api(query, {"slug": "nowhere"}))["board"] is None
        errors = (await api.post(misspelt)).json()["errors"]
        assert "Cannot query field 'slugg'" in errors[0]["message"]


async def test_the_exported_sdl_matches_the_served_schema():
    assert SDL_PATH.read_text(encoding="utf-8") == export_sdl(), (
        "schema/schema.graphql is stale: run `mallforum export-schema`"
    )


FORUM_COORDINATES = [
    "Query.node",
    "Query.viewer",
    "Query.boards",
    "Query.board",
    "Query.topic",
    "Query.productFeed",
    "Query.homeFeed",
    "Query.member",
    "Mutation.createTopic",
    "Mutation.updateTopic",
    "Mutation.deleteTopic",
    "Mutation.createComment",
    "Mutation.deleteComment",
    "Mutation.like",
    "Mutation.unlike",
    "Mutation.followBoard",
    "Mutation.unfollowBoard",
    "Mutation.createBoard",
    "Mutation.recordPurchase",
    "Board.topics",
    "Topic.authorIsVerifiedBuyer",
    "Member.isVerifiedBuyer",
    "Comment.replies",
    "TopicConnection.totalCount",
]


def test_contract_check_finds_every_forum_coordinate_present():
    result = subprocess.run(
        [sys.executable, str(CONTRACT_CHECK), str(SDL_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = result.stdout + result.stderr
    assert "coordinates present" in report, report
    problems = [
        line
        for line in report.splitlines()
        if any(line.startswith(c + ":") or line.startswith(c + "(") for c in FORUM_COORDINATES)
    ]
    assert problems == [], problems
    assert "incompatible" not in report and ", contract " not in report, report


async def test_readyz_names_redis_when_it_does_not_answer(app, client, settings):
    from mallforum.redis_store import RedisStore

    services = app.state.services
    working = services["redis"]
    services["redis"] = RedisStore.connect("redis://127.0.0.1:1/0", settings.redis_prefix)
    try:
        response = await client.get("/readyz")
    finally:
        await services["redis"].close()
        services["redis"] = working
    assert response.status_code == 503
    assert response.json() == {"ready": False, "failing": ["redis"]}


async def test_answers_carry_a_request_id_and_honour_graphql_response_json(client):
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"Accept": "application/graphql-response+json", "X-Request-ID": "abc-123"},
    )
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert response.headers["x-request-id"] == "abc-123"
    plain = await client.post("/graphql", json={"query": "{ viewer { id } }"})
    assert plain.headers["content-type"].startswith("application/json")
    assert len(plain.headers["x-request-id"]) == 32


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    api, caplog, monkeypatch
):
    from schema.topics import Topic

    board = await create_board(api)
    await create_topic(api, board["id"])

    def broken(model):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Topic, "of", broken)  # a field that fails by surprise
    response = await api.client.post(
        "/graphql",
        json={"query": "{ boards { topics { edges { node { id } } } } }"},
        headers={"X-Request-ID": "req-42"},
    )
    body = response.json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret internals" not in response.text
    assert response.headers["cache-control"] == "private, no-store"
    logged = [r for r in caplog.records if r.name == "mallforum.graphql"]
    assert any("req-42" in r.getMessage() and "secret internals" in r.getMessage() for r in logged)
