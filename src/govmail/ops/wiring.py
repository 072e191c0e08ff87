"""What the operations features add to a running App, in one place.

``app.py`` holds an ``Operations`` as ``app.ops`` and asks it for its policy checks (spam
or rspamd, antivirus, attachments — after sender identity and sender authentication),
its after-delivery hook (the archive journal) and its services (the daily backup);
``attach(app)`` connects the rest: the Bayes trainer as a MailStore observer, the
metrics around the pipeline and the login guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from govmail.config import Settings
from govmail.ops.archive import ArchiveJournal
from govmail.ops.backup import BackupService
from govmail.ops.metrics import OpsMetrics
from govmail.policy.attachments import AttachmentCheck
from govmail.policy.base import PolicyCheck
from govmail.policy.bayes import BayesClassifier
from govmail.policy.clamav import VirusCheck
from govmail.policy.rspamd import RspamdCheck
from govmail.policy.spam import SenderLists, SpamCheck
from govmail.services import Service
from govmail.store.db import Store

if TYPE_CHECKING:
    from govmail.app import App


class Operations:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.metrics = OpsMetrics()
        self.bayes = BayesClassifier(store, settings.spam.bayes_min_messages)
        self.lists = SenderLists(store)
        self.archive = ArchiveJournal(store, settings.archive)
        self.attachments = AttachmentCheck(settings.attachments, store, self.metrics.record)
        self.backup_service: BackupService | None = None

    def policy_checks(self) -> list[PolicyCheck]:
        s = self.settings
        spam: PolicyCheck
        if s.spam.engine == "rspamd":
            spam = RspamdCheck(
                s.spam, self.store, s.general.hostname, lists=self.lists,
                record=self.metrics.record,
            )
        else:
            spam = SpamCheck(s.spam, self.store, self.bayes, self.lists, self.metrics.record)
        return [
            self.attachments,
            VirusCheck(s.antivirus, record=self.metrics.record),
            spam,
        ]

    def attach(self, app: App) -> None:
        app.mailstore.observers.append(self.bayes.observe)
        self.metrics.instrument(app.pipeline)
        self.metrics.watch_guard(app.guard)

    def services(self) -> list[Service]:
        self.backup_service = BackupService(self.settings, self.store, after=self.archive.purge)
        return [self.backup_service]
