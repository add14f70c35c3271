"""The newcomer's command: with no configuration the service runs on an embedded SQLite
file and an in-process Redis stand-in, migrates itself and can seed a demo community."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.servers import free_port


def test_serve_with_demo_runs_on_embedded_stores_and_answers_queries(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLFORUM_")} | {
        "MALLFORUM_DATA_DIR": str(tmp_path / "data")
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mallforum", "serve", "--demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError("the embedded server did not become ready")
        answer = httpx.post(
            f"{url}/graphql",
            json={
                "query": '{ boards { slug topicCount } productFeed(sku: "SKU-ANC-100") '
                "{ edges { node { title commentCount likeCount } } } }"
            },
            timeout=10,
        ).json()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "the GraphQL console is at http://localhost:" in output
    assert (tmp_path / "data" / "mallforum.sqlite3").exists()
    boards = {b["slug"]: b["topicCount"] for b in answer["data"]["boards"]}
    assert boards == {"beauty": 2, "digital": 2, "outfits": 1}  # vip-lounge needs level 3
    feed = answer["data"]["productFeed"]["edges"]
    assert [e["node"]["title"] for e in feed] == ["降噪耳机开箱"]
    assert feed[0]["node"]["commentCount"] >= 1 and feed[0]["node"]["likeCount"] >= 1
