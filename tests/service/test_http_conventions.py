"""What every HTTP answer follows: request ids, CORS for the mall's origins, compression,
ETags with 304s, Vary, and the GraphQL-over-HTTP spec's status codes; and the console,
served from the package with nothing fetched from elsewhere."""

from __future__ import annotations

import gzip
import hashlib
import re

import brotli
import jwt
import pytest
import zstandard

from mallforum.console import DIRECTORY
from tests.conftest import MALL_ORIGIN, TEST_SECRET
from tests.forum import create_board

BOARDS = "{ boards { slug name } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_every_answer_carries_a_request_id_even_refusals(client):
    expired = jwt.encode({"sub": "x", "exp": 1}, TEST_SECRET)
    answers = {
        "401": await client.post(
            "/graphql", json={"query": BOARDS}, headers={"Authorization": f"Bearer {expired}"}
        ),
        "400": await client.post(
            "/graphql", content=b"{", headers={"Content-Type": "application/json"}
        ),
        "405": await client.get("/graphql", params={"query": "mutation { checkIn { streak } }"}),
        "healthz": await client.get("/healthz"),
        "readyz": await client.get("/readyz"),
        "metrics": await client.get("/metrics"),
        "404": await client.get("/nowhere"),
        "preflight": await client.options(
            "/graphql",
            headers={"Origin": MALL_ORIGIN, "Access-Control-Request-Method": "POST"},
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "401": 401,
        "400": 400,
        "405": 405,
        "healthz": 200,
        "readyz": 200,
        "metrics": 200,
        "404": 404,
        "preflight": 200,
    }
    ids = [answer.headers.get("x-request-id") for answer in answers.values()]
    assert all(i and re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    mine = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"})
    assert mine.headers["x-request-id"] == "lb-7f3a.1"
    odd = await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])


async def test_a_preflight_from_the_malls_origin_is_answered_and_others_are_not(client):
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    allowed = await client.options("/graphql", headers={"Origin": MALL_ORIGIN, **asked})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == MALL_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers  # off by default
    refused = await client.options("/graphql", headers={"Origin": "https://evil.example", **asked})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_cross_origin_answers_name_the_origin_and_expose_the_request_id(client):
    response = await client.post(
        "/graphql", json={"query": BOARDS}, headers={"Origin": MALL_ORIGIN}
    )
    assert response.headers["access-control-allow-origin"] == MALL_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "origin" in response.headers["vary"].lower()
    other = await client.post(
        "/graphql", json={"query": BOARDS}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_credentials_with_any_origin_are_refused_at_start(settings):
    risky = settings.model_copy(update={"cors_origins": ["*"], "cors_credentials": True})
    with pytest.raises(RuntimeError, match="MALLFORUM_CORS_CREDENTIALS"):
        risky.check()


def test_origins_are_written_as_browsers_send_them():
    from mallforum.settings import Settings

    configured = Settings(cors_origins=["HTTPS://M.Mall.Example:443", "http://localhost:3000"])
    assert configured.cors_origins == ["http://localhost:3000", "https://m.mall.example"]
    with pytest.raises(ValueError, match="Invalid origin"):
        Settings(cors_origins=["https://m.mall.example/app"])


async def test_large_answers_are_compressed_as_the_client_accepts_and_small_ones_are_not(
    api, client
):
    for n in range(30):
        await create_board(api, f"board-{n:02d}", description="A board about things " * 5)
    query = {"query": "{ boards { slug name description } }"}
    plain = await client.post("/graphql", json=query, headers={"Accept-Encoding": "identity"})
    size = len(plain.content)
    assert size > 2000 and "content-encoding" not in plain.headers
    decoders = {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": lambda raw: zstandard.ZstdDecompressor().decompressobj().decompress(raw),
    }
    for accepted, decode in decoders.items():
        async with client.stream(
            "POST", "/graphql", json=query, headers={"Accept-Encoding": accepted}
        ) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        assert response.headers["content-encoding"] == accepted
        assert "accept-encoding" in response.headers["vary"].lower()
        assert len(raw) < size / 3
        assert decode(raw) == plain.content
    small = await client.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"Accept-Encoding": "gzip, br"}
    )
    assert "content-encoding" not in small.headers


async def test_cacheable_gets_carry_an_etag_and_if_none_match_answers_304(api, client):
    await create_board(api, "beauty")
    first = await client.get("/graphql", params={"query": BOARDS})
    assert first.headers["cache-control"] == "public, max-age=30"
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert {v.strip() for v in first.headers["vary"].split(",")} >= {"Accept", "Authorization"}
    again = await client.get("/graphql", params={"query": BOARDS}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=30"
    assert again.headers["x-request-id"]
    await create_board(api, "mother-baby")
    changed = await client.get(
        "/graphql", params={"query": BOARDS}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(changed.json()["data"]["boards"]) == 2


async def test_private_answers_get_no_etag(api, client):
    token = api.token("alice")
    response = await client.get(
        "/graphql",
        params={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.headers["cache-control"] == "private, no-store"
    assert "etag" not in response.headers
    posted = await client.post("/graphql", json={"query": BOARDS})
    assert "etag" not in posted.headers


async def test_a_mutation_over_get_is_405_with_allow_post(client):
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.get(
            "/graphql",
            params={"query": "mutation { checkIn { streak } }"},
            headers={"Accept": accept},
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"].startswith(accept)
        assert "mutation" in response.json()["errors"][0]["message"].lower()


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ boards { "},  # does not parse
        {"query": "{ boards { slugg } }"},  # does not validate
        {"query": "query($n: Int!) { boards { slug } }", "variables": {"n": "many"}},  # variables
    ],
    ids=["parse", "validation", "variables"],
)
async def test_requests_failing_before_execution_are_400_for_graphql_response_json(client, body):
    spec = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    assert spec.status_code == 400
    assert spec.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in spec.json() and spec.json()["errors"]
    legacy = await client.post("/graphql", json=body, headers={"Accept": "application/json"})
    assert legacy.status_code == 200
    assert "data" not in legacy.json() and legacy.json()["errors"]


async def test_an_execution_error_is_still_200_with_data(client):
    response = await client.post(
        "/graphql",
        json={"query": "{ moderationQueue { edges { node { id } } } }"},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- the console


async def test_the_console_loads_only_files_of_its_own(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "the page loads from elsewhere"
    assets = re.findall(r"(?:src|href)=\"(console/[^\"]+)\"", page.text)
    assert len(assets) == 6
    for asset in assets:
        response = await client.get(f"/{asset}", headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, asset
        assert response.content == (DIRECTORY / asset.removeprefix("console/")).read_bytes()
        if "/vendor/" in asset:
            assert "immutable" in response.headers["cache-control"]
        else:
            assert response.headers["cache-control"] == "no-cache"
            etag = response.headers["etag"]
            again = await client.get(f"/{asset}", headers={"If-None-Match": etag})
            assert again.status_code == 304


def test_the_vendored_console_files_are_the_published_ones_with_their_licences():
    vendor = DIRECTORY / "vendor"
    sums = (vendor / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in sums:
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    present = {str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file()}
    assert present == set(listed) | {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for package in ("graphiql-4.1.2", "react-18.3.1", "react-dom-18.3.1"):
        assert "MIT License" in (vendor / package / "LICENSE").read_text()


def test_the_consoles_example_operations_are_valid_against_the_schema():
    from graphql import parse, validate

    from schema.schema import build_schema

    script = (DIRECTORY / "console.js").read_text(encoding="utf-8")
    assert "subscriptionUrl" in script and "createFetcher" in script
    operations = re.findall(r"= `(.*?)`;", script, re.DOTALL)
    names = {
        re.search(r"^(query|mutation|subscription) (\w+)", o, re.M).group(2) for o in operations
    }
    assert names == {"Boards", "ModerationQueue", "DecideCase", "WordRule", "TopicActivity"}
    schema = build_schema()._schema
    for operation in operations:
        text = operation.replace("\\`", "`")
        assert validate(schema, parse(text)) == [], text
