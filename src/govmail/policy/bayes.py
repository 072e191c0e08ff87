"""A per-installation Bayesian spam classifier, trained by what users do.

Moving a message into Junk (IMAP MOVE/COPY, the webmail) teaches it "spam"; moving it out
of Junk into any folder but Trash teaches "ham" (and unlearns an earlier "spam"). Learning
is keyed by the message body's hash, so a message counts once whatever the number of
copies or moves. Scoring uses Robinson's token probabilities combined with Fisher's
chi-square method (as SpamBayes does): a probability near 1 is spam, near 0 is ham.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Sequence

from govmail.mail.parsed import ParsedMessage, parse_message
from govmail.mail.textfold import fold
from govmail.store.db import Store
from govmail.store.models import Folder, Message
from govmail.store.repos.ops import OpsRepo

log = logging.getLogger("govmail.spam.bayes")

_URL_HOST = re.compile(r"(?i)https?://([a-z0-9.-]{1,253})")
MAX_TOKENS = 1500
# Robinson's strength of the background belief and the belief itself.
_S, _X = 1.0, 0.5
# Tokens whose probability is closer to 0.5 than this say nothing.
_MIN_STRENGTH = 0.1
_MAX_DISCRIMINATORS = 150
_COUNTS_TTL = 5.0
# Token counts read from the store are kept in memory: most tokens recur from message to
# message. The cache is emptied when this process learns and at least once a minute (so
# what another process learnt shows), and never holds more than this many tokens.
_TOKEN_CACHE_SECONDS = 60.0
_TOKEN_CACHE_MAX = 200_000
# Up to this many tokens, the whole table is held in memory (reloaded when what was learnt
# changes), so that scoring a message reads nothing from the store.
_FULL_TABLE_MAX = 300_000


_PUNCT = ".,;:!?()[]{}<>\"'`*|/\\=+-_#~^&"
_TEXT_LIMIT = 20_000


def tokens_of(parsed: ParsedMessage, raw: bytes = b"") -> list[str]:
    """The distinct tokens of a message: words of the folded text and subject, the sender's
    domain and the host names of links."""
    out: dict[str, None] = {}
    for w in fold(parsed.subject or "").split():
        w = w.strip(_PUNCT)
        if 2 <= len(w) <= 30:
            out["s:" + w] = None
    text = parsed.text_for_search or ""
    for w in dict.fromkeys(text[:_TEXT_LIMIT].split()):
        w = w.strip(_PUNCT)
        if 2 <= len(w) <= 30 and "://" not in w:
            out[w] = None
    if parsed.from_addr and "@" in parsed.from_addr:
        out["fd:" + parsed.from_addr.rsplit("@", 1)[1].lower()] = None
    if "://" in text or b"://" in raw[:262144]:
        links = raw[:262144].decode("latin-1") + " " + text
        for host in _URL_HOST.findall(links):
            out["u:" + host.lower()[-60:]] = None
    return [t[:64] for t in out][:MAX_TOKENS]


def _chi2q(x2: float, v: int) -> float:
    """P(chisq >= x2) with v (even) degrees of freedom."""
    m = x2 / 2.0
    term = math.exp(-m)
    total = term
    for i in range(1, v // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def combine(probabilities: Sequence[float]) -> float:
    """Fisher/Robinson chi-square combination of token spam probabilities."""
    if not probabilities:
        return 0.5
    n = len(probabilities)
    s_ln = sum(math.log(max(1.0 - p, 1e-200)) for p in probabilities)
    h_ln = sum(math.log(max(p, 1e-200)) for p in probabilities)
    s = 1.0 - _chi2q(-2.0 * s_ln, 2 * n)
    h = 1.0 - _chi2q(-2.0 * h_ln, 2 * n)
    return (1.0 + s - h) / 2.0


def token_probability(spam: int, ham: int, nspam: int, nham: int) -> float:
    spam_ratio = spam / nspam if nspam else 0.0
    ham_ratio = ham / nham if nham else 0.0
    if spam_ratio + ham_ratio == 0:
        return _X
    p = spam_ratio / (spam_ratio + ham_ratio)
    n = spam + ham
    return (_S * _X + n * p) / (_S + n)


class BayesClassifier:
    def __init__(self, store: Store, min_messages: int = 20) -> None:
        self.store = store
        self.min_messages = min_messages
        self._counts: tuple[int, int] | None = None
        self._counts_at = 0.0
        self._tokens: dict[str, tuple[int, int]] = {}
        self._tokens_at = 0.0
        self._full: dict[str, tuple[int, int]] | None = None
        self._full_version: tuple[int, int] | None = None
        self._full_too_big_at = -1e9

    async def counts(self) -> tuple[int, int]:
        now = time.monotonic()
        if self._counts is None or now - self._counts_at > _COUNTS_TTL:
            async with self.store.read() as tx:
                self._counts = await OpsRepo(tx.session, self.store.dialect).bayes_counts()
            self._counts_at = now
        return self._counts

    async def ready(self) -> bool:
        nspam, nham = await self.counts()
        return nspam >= self.min_messages and nham >= self.min_messages

    async def probability(self, tokens: Sequence[str]) -> float | None:
        """Spam probability of a message with these tokens, or None while untrained."""
        nspam, nham = await self.counts()
        if nspam < self.min_messages or nham < self.min_messages or not tokens:
            return None
        known = await self._token_counts(tokens)
        probs = [token_probability(sp, hm, nspam, nham) for sp, hm in known if sp or hm]
        strong = sorted(
            (p for p in probs if abs(p - 0.5) >= _MIN_STRENGTH),
            key=lambda p: -abs(p - 0.5),
        )[:_MAX_DISCRIMINATORS]
        return combine(strong)

    async def _load_full(self, version: tuple[int, int]) -> None:
        now = time.monotonic()
        if self._full_version == version or now - self._full_too_big_at < 600:
            return
        async with self.store.read() as tx:
            table = await OpsRepo(tx.session, self.store.dialect).bayes_all_tokens(
                _FULL_TABLE_MAX
            )
        if table is None:  # too many tokens: look them up message by message
            self._full, self._full_version, self._full_too_big_at = None, None, now
            return
        self._full, self._full_version = table, version

    async def _token_counts(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        await self._load_full(await self.counts())
        if self._full is not None:
            full = self._full
            return [full.get(t, (0, 0)) for t in tokens]
        now = time.monotonic()
        cache = self._tokens
        if now - self._tokens_at > _TOKEN_CACHE_SECONDS or len(cache) > _TOKEN_CACHE_MAX:
            cache.clear()
            self._tokens_at = now
        missing = [t for t in tokens if t not in cache]
        if missing:
            async with self.store.read() as tx:
                found = await OpsRepo(tx.session, self.store.dialect).bayes_tokens(missing)
            for t in missing:
                cache[t] = found.get(t, (0, 0))
        return [cache[t] for t in tokens]

    async def learn(self, sha256: str, tokens: Iterable[str], label: str | None) -> bool:
        """Learn the message ``sha256`` as ``label`` ('spam', 'ham'; None forgets it).
        Returns False when nothing changed (already learnt so)."""
        toks = list(tokens)
        async with self.store.write() as tx:
            repo = OpsRepo(tx.session, self.store.dialect)
            before = await repo.bayes_label(sha256)
            if before == label:
                return False
            if before is not None:
                await repo.bayes_adjust(
                    toks, -1 if before == "spam" else 0, -1 if before == "ham" else 0
                )
            if label is not None:
                await repo.bayes_adjust(
                    toks, 1 if label == "spam" else 0, 1 if label == "ham" else 0
                )
            await repo.bayes_set_label(sha256, label)
        self._counts = None
        self._tokens.clear()
        if self._full is not None:
            # Apply the same change in memory rather than reloading the whole table.
            dspam = (label == "spam") - (before == "spam")
            dham = (label == "ham") - (before == "ham")
            for t in set(toks):
                sp, hm = self._full.get(t, (0, 0))
                self._full[t] = (max(sp + dspam, 0), max(hm + dham, 0))
            self._full_version = await self.counts()
        return True

    async def learn_raw(self, raw: bytes, label: str | None) -> bool:
        from govmail.store.blobs import sha256_hex

        return await self.learn(sha256_hex(raw), tokens_of(parse_message(raw), raw), label)

    # -- the MailStore observer --------------------------------------------------------
    async def observe(self, source: Folder, dest: Folder, messages: Sequence[Message]) -> None:
        """Called after messages were copied or moved from ``source`` to ``dest``."""
        label = _label_for(source, dest)
        if label is None or not messages:
            return
        async with self.store.read() as tx:
            shas = await OpsRepo(tx.session, self.store.dialect).blob_shas(
                {m.blob_id for m in messages}
            )
        learnt = 0
        for sha in shas.values():
            try:
                raw = await self.store.blobs.get(sha)
            except Exception:
                log.warning("cannot read a message to learn from", extra={"sha256": sha})
                continue
            if await self.learn(sha, tokens_of(parse_message(raw), raw), label):
                learnt += 1
        if learnt:
            log.info("bayes learnt", extra={"label": label, "messages": learnt})


def _label_for(source: Folder, dest: Folder) -> str | None:
    src_junk = source.special_use == "\\Junk"
    dst_junk = dest.special_use == "\\Junk"
    if dst_junk and not src_junk:
        return "spam"
    if src_junk and not dst_junk and dest.special_use != "\\Trash":
        return "ham"
    return None
