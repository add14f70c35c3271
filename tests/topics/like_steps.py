"""Steps of the likes tests: like and unlike as a member, and what a reader then sees."""

from __future__ import annotations

from mallforum.ids import parse_id
from models import Like, LikeSubject

SUBJECT = """
    likeCount
    subject {
      id
      ... on Topic { likeCount viewerHasLiked }
      ... on Comment { likeCount viewerHasLiked }
    }
    errors { field code }
"""
LIKE = f"mutation($id: ID!) {{ like(id: $id) {{ {SUBJECT} }} }}"
UNLIKE = f"mutation($id: ID!) {{ unlike(id: $id) {{ {SUBJECT} }} }}"

SEEN = """
query($id: ID!) {
  node(id: $id) {
    ... on Topic { likeCount viewerHasLiked }
    ... on Comment { likeCount viewerHasLiked }
  }
}"""


async def like(api, subject_id, *, as_="bob", roles=()):
    return (await api(LIKE, {"id": subject_id}, as_=as_, roles=roles))["like"]


async def unlike(api, subject_id, *, as_="bob", roles=()):
    return (await api(UNLIKE, {"id": subject_id}, as_=as_, roles=roles))["unlike"]


async def seen(api, subject_id, as_=None):
    """likeCount and viewerHasLiked as a follow-up read shows them to `as_`."""
    return (await api(SEEN, {"id": subject_id}, as_=as_))["node"]


async def like_rows(subject_id):
    """How many rows of the like table hold likes of the subject."""
    parsed = parse_id(subject_id)
    assert parsed is not None
    kind = {"Topic": LikeSubject.TOPIC, "Comment": LikeSubject.COMMENT}[parsed[0]]
    return await Like.filter(subject_kind=kind, subject_id=parsed[1]).count()
