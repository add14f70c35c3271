"""Moderation: members' reports, the moderators' queue of cases, their actions and log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from mallforum.ids import encode_id
from resolvers import moderation_cases as resolvers
from schema.bindings import Info, context, described_enum
from schema.comments import Comment
from schema.members import Member, MemberId, MemberPayload
from schema.payloads import ERRORS, UserError, payload
from schema.relay import After, Connection, First, Node, connection
from schema.topics import Topic

ModerationCaseStatus = described_enum(
    models.ModerationCaseStatus,
    "Whether a moderator has decided a case, and how.",
    {
        "OPEN": "Waiting for a moderator.",
        "APPROVED": "A moderator found the content fine: it is published (or stays so).",
        "REJECTED": "A moderator found the content breaks the rules: it is hidden.",
    },
)
ModerationSource = described_enum(
    models.ModerationSource,
    "What put the content in the moderators' queue.",
    {
        "HOOK": "A moderation hook held or flagged the content when it was written.",
        "REPORT": "Members reported it.",
    },
)
ModerationAction = described_enum(
    resolvers.ModerationAction,
    "What a moderator does to a topic or comment; one that does not fit it is INVALID.",
    {
        "APPROVE": "Publish content held for review.",
        "REJECT": "Hide content held for review.",
        "HIDE": "Hide published (or held) content: only moderators see it.",
        "RESTORE": "Publish hidden or deleted content again.",
        "DELETE": "Mark the content deleted; it stays stored, seen only by moderators.",
        "LOCK": "Topics only: no new comments.",
        "UNLOCK": "Topics only: take comments again.",
        "PIN": "Published topics only: keep it at the top of its board.",
        "UNPIN": "Topics only: stop pinning it.",
        "FEATURE": "Published topics only: feature it; its author earns once per topic.",
        "UNFEATURE": "Topics only: stop featuring it.",
    },
)
ReportReason = described_enum(
    models.ReportReason,
    "Why a member reports a topic or comment.",
    {
        "SPAM": "Advertising or spam.",
        "ABUSE": "Insults, harassment or hate.",
        "ILLEGAL": "Against the law.",
        "OFF_TOPIC": "Does not belong in this board.",
        "OTHER": "Something else: say what in the note.",
    },
)

ModeratedContent = Annotated[
    Topic | Comment | Member,
    strawberry.union("ModeratedContent", description="What a moderation case is about."),
]


def _content(target: models.Topic | models.Comment | models.Member) -> Topic | Comment | Member:
    if isinstance(target, models.Topic):
        return Topic.of(target)
    if isinstance(target, models.Comment):
        return Comment.of(target)
    return Member.of(target)


@strawberry.type(description="Why a hook or a member flagged the content.")
class ModerationReason:
    hook: str = strawberry.field(
        description="The hook or rule that spoke, e.g. sensitive_words, spam_links, "
        "contact_info, duplicate, flood, report."
    )
    code: str = strawberry.field(
        description="What it found: a hook's category, or a report's ReportReason."
    )
    detail: str | None = strawberry.field(
        description="More about it, e.g. the reporter's note; null when none."
    )


@strawberry.type(
    description="Content held by a hook or reported by members, for a moderator to decide."
)
class ModerationCase(Node):
    source: ModerationSource = strawberry.field(  # type: ignore[valid-type]
        description="What opened the case."
    )
    status: ModerationCaseStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether it waits for a moderator, or how it was decided."
    )
    reasons: list[ModerationReason] = strawberry.field(
        description="Every reason given, oldest first: the hooks' and each report's."
    )
    report_count: int = strawberry.field(description="How many members reported the content.")
    created_at: datetime = strawberry.field(description="When the case was opened.")
    decided_at: datetime | None = strawberry.field(
        description="When a moderator decided it; null while open."
    )
    note: str | None = strawberry.field(
        description="The moderator's note: for a rejection, the reason kept for the author."
    )
    model: strawberry.Private[models.ModerationCase]

    @classmethod
    def of(cls, case: models.ModerationCase) -> ModerationCase:
        return cls(
            id=strawberry.ID(encode_id("ModerationCase", case.pk)),
            source=case.source,
            status=case.status,
            reasons=[
                ModerationReason(hook=r["hook"], code=r["code"], detail=r.get("detail"))
                for r in case.reasons
            ],
            report_count=case.report_count,
            created_at=case.created_at,
            decided_at=case.decided_at,
            note=case.note,
            model=case,
        )

    @strawberry.field(
        description="The content (or member) the case is about, whatever its status now."
    )
    async def target(self, info: Info) -> ModeratedContent:
        found = await resolvers.case_target(context(info), self.model)
        assert found is not None  # nothing a moderator does deletes rows
        return _content(found)

    @strawberry.field(description="The moderator who decided it; null while open.")
    async def decided_by(self, info: Info) -> Member | None:
        if self.model.decided_by_id is None:
            return None
        member = await context(info).loaders.member_by_id.load(self.model.decided_by_id)
        return Member.of(member) if member else None


@strawberry.type(description="One thing a moderator did, as the moderation log keeps it.")
class ModerationLogEntry(Node):
    action: str = strawberry.field(
        description="What was done: a ModerationAction, APPROVE_CASE, REJECT_CASE, MUTE, BAN, "
        "RESTORE_MEMBER, CREATE_WORD_RULE, UPDATE_WORD_RULE, DELETE_WORD_RULE or DRAW_LOTTERY."
    )
    target_id: strawberry.ID = strawberry.field(
        description="The global ID of the topic, comment, member or word rule acted on."
    )
    note: str | None = strawberry.field(
        description="The moderator's note or reason; for a word rule, the rule as written "
        "(and what it was, or the shipped rule it replaces)."
    )
    created_at: datetime = strawberry.field(description="When it was done.")
    model: strawberry.Private[models.ModerationLog]

    @classmethod
    def of(cls, entry: models.ModerationLog) -> ModerationLogEntry:
        return cls(
            id=strawberry.ID(encode_id("ModerationLogEntry", entry.pk)),
            action=entry.action,
            target_id=strawberry.ID(entry.target_id),
            note=entry.note,
            created_at=entry.created_at,
            model=entry,
        )

    @strawberry.field(description="The moderator who did it.")
    async def actor(self, info: Info) -> Member | None:
        if self.model.actor_id is None:
            return None
        member = await context(info).loaders.member_by_id.load(self.model.actor_id)
        return Member.of(member) if member else None


async def load_case(info: Info, case_id: int) -> ModerationCase | None:
    case = await resolvers.case_by_id(context(info), case_id)
    return ModerationCase.of(case) if case else None


async def load_log_entry(info: Info, entry_id: int) -> ModerationLogEntry | None:
    entry = await resolvers.log_entry_by_id(context(info), entry_id)
    return ModerationLogEntry.of(entry) if entry else None


@strawberry.input(description="A member reports a topic or comment.")
class ReportContentInput:
    id: strawberry.ID = strawberry.field(
        description="The global ID of a published topic or comment; not one's own."
    )
    reason: ReportReason = strawberry.field(  # type: ignore[valid-type]
        description="Why it breaks the rules."
    )
    note: str | None = strawberry.field(
        default=None, description="More about it, at most 500 characters."
    )


@strawberry.input(description="A moderator's action on a topic or comment.")
class ModerateContentInput:
    id: strawberry.ID = strawberry.field(description="The global ID of the topic or comment.")
    action: ModerationAction = strawberry.field(  # type: ignore[valid-type]
        description="What to do."
    )
    note: str | None = strawberry.field(
        default=None, description="Why, for the log and the item's case; at most 500 characters."
    )


@strawberry.type(description="What reportContent answers: whether the report was taken.")
class ReportPayload:
    reported: bool = strawberry.field(
        default=False, description="True when the report was taken; false with errors."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="What moderateContent answers: the content as it is now, or why not.")
class ModerationPayload:
    target: ModeratedContent | None = strawberry.field(
        default=None, description="The content as it is now; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="What decideModerationCase answers: the decided case, or why not.")
class ModerationCasePayload:
    case: ModerationCase | None = strawberry.field(
        default=None, description="The case as decided; null when errors is not empty."
    )
    errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type
class ModerationQueries:
    @strawberry.field(description="Moderators only.")
    async def moderation_queue(
        self,
        info: Info,
        status: Annotated[  # type: ignore[valid-type]
            ModerationCaseStatus | None,
            strawberry.argument(
                description="Which cases: OPEN ones (the default) or decided ones."
            ),
        ] = models.ModerationCaseStatus.OPEN,
        first: First = None,
        after: After = None,
    ) -> Connection[ModerationCase]:
        page = await resolvers.moderation_queue(
            context(info), status or models.ModerationCaseStatus.OPEN, first, after
        )
        return connection(page, ModerationCase.of)

    @strawberry.field(description="Moderators only.")
    async def moderation_log(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[ModerationLogEntry]:
        page = await resolvers.moderation_log(context(info), first, after)
        return connection(page, ModerationLogEntry.of)


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(
        description="Signed-in, unbanned members report a published topic or comment, once "
        "each; their own content is FORBIDDEN. Reports weigh by the reporter's level (less "
        "for reporters whose reports were found wrong); enough weight hides the content "
        "until a moderator decides."
    )
    async def report_content(
        self,
        info: Info,
        input: Annotated[ReportContentInput, strawberry.argument(description="The report.")],
    ) -> ReportPayload:
        work = resolvers.report_content(context(info), input.id, input.reason, input.note)
        return await payload(ReportPayload, work, name="reported")

    @strawberry.mutation(description="Moderators.")
    async def moderate_content(
        self,
        info: Info,
        input: Annotated[
            ModerateContentInput, strawberry.argument(description="The content and the action.")
        ],
    ) -> ModerationPayload:
        work = resolvers.moderate_content(context(info), input.id, input.action, input.note)
        return await payload(ModerationPayload, work, _content, "target")

    @strawberry.mutation(description="Moderators.")
    async def decide_moderation_case(
        self,
        info: Info,
        case_id: Annotated[
            strawberry.ID, strawberry.argument(description="The open case's global ID.")
        ],
        approve: Annotated[
            bool,
            strawberry.argument(
                description="True: the content is fine (published, or restored); false: it "
                "is hidden."
            ),
        ],
        note: Annotated[
            str | None,
            strawberry.argument(description="Why; on a rejection, the reason kept for the author."),
        ] = None,
    ) -> ModerationCasePayload:
        work = resolvers.decide_case(context(info), case_id, approve, note)
        return await payload(ModerationCasePayload, work, ModerationCase.of, "case")

    @strawberry.mutation(description="Moderators. until null means indefinitely.")
    async def mute_member(
        self,
        info: Info,
        member_id: MemberId,
        reason: Annotated[str, strawberry.argument(description="Why, for the log.")],
        until: Annotated[
            datetime | None,
            strawberry.argument(description="When the mute ends, in the future; null: never."),
        ] = None,
    ) -> MemberPayload:
        work = resolvers.mute_member(context(info), member_id, until, reason)
        return await payload(MemberPayload, work, Member.of, "member")

    @strawberry.mutation(description="Moderators.")
    async def ban_member(
        self,
        info: Info,
        member_id: MemberId,
        reason: Annotated[str, strawberry.argument(description="Why, for the log.")],
    ) -> MemberPayload:
        work = resolvers.ban_member(context(info), member_id, reason)
        return await payload(MemberPayload, work, Member.of, "member")

    @strawberry.mutation(description="Moderators.")
    async def restore_member(
        self,
        info: Info,
        member_id: MemberId,
        note: Annotated[str | None, strawberry.argument(description="Why, for the log.")] = None,
    ) -> MemberPayload:
        work = resolvers.restore_member(context(info), member_id, note)
        return await payload(MemberPayload, work, Member.of, "member")
