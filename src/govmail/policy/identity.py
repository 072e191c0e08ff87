"""Authenticated senders may only send as themselves or as an agency mailbox they handle."""

from __future__ import annotations

from govmail.directory.service import Directory
from govmail.i18n import both
from govmail.policy.base import MessageContext, PolicyCheck, Verdict


class SenderIdentityCheck(PolicyCheck):
    name = "sender_identity"

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def applies(self, ctx: MessageContext) -> bool:
        return ctx.envelope.authenticated

    async def check(self, ctx: MessageContext) -> Verdict:
        env = ctx.envelope
        async with self.directory.reader() as ops:
            user = await ops.repo.mailbox_by_address(env.auth_user or "")
            if user is None or user.status != "active":
                return Verdict.refuse(self.name, both("policy.identity.no_user"), 550, "5.7.1")
            candidates = [("envelope", env.mail_from)] if env.mail_from else []
            header_from = ctx.parsed.from_addr
            if header_from:
                candidates.append(("from", header_from))
            else:
                return Verdict.refuse(self.name, both("policy.identity.no_from"), 550, "5.6.0")
            for where, address in candidates:
                if not await ops.may_send_as(user, address):
                    return Verdict.refuse(
                        self.name,
                        both("policy.identity.not_yours", address=address, user=user.address),
                        550,
                        "5.7.1",
                        identity_failed=where,
                    )
        return Verdict.accept(self.name)
