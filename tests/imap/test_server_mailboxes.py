"""Mailbox names: LIST patterns, the shared namespace, names that cannot be created."""

from __future__ import annotations

import pytest

from govmail.imap.mailboxes import (
    NameError_,
    check_new_name,
    compile_pattern,
    hierarchy,
    matches,
    resolve,
)
from govmail.imap.shared import CLERK_RIGHTS, HANDLER_RIGHTS, OWNER_RIGHTS, Handled
from govmail.store.models import Folder


@pytest.mark.parametrize(
    ("reference", "pattern", "name", "expected"),
    [
        ("", "*", "Văn bản đến/2024", True),
        ("", "%", "Văn bản đến/2024", False),
        ("", "%", "Văn bản đến", True),
        ("", "inbox", "INBOX", True),
        ("", "Inbox/%", "INBOX/Con", True),
        ("", "inbox", "Inbox", False),  # only INBOX itself is case-insensitive
        ("Shared/", "%", "Shared/vanthu@mic.gov.vn", True),
        ("Shared/", "%", "Shared/vanthu@mic.gov.vn/INBOX", False),
        ("", "Shared/*/INBOX", "Shared/vanthu@mic.gov.vn/INBOX", True),
        ("", "a.b", "axb", False),  # no regular-expression leaks
        ("", "(*)", "(x)", True),
    ],
)
def test_list_patterns(reference: str, pattern: str, name: str, expected: bool) -> None:
    assert matches(compile_pattern(reference, pattern), name) is expected


@pytest.mark.parametrize(
    "name", ["", "a//b", "/a", "a/", " a", "a /b", "x%", "y*", "tab\there", "a" * 901]
)
def test_names_that_cannot_be_created(name: str) -> None:
    with pytest.raises(NameError_):
        check_new_name(name)


def test_resolve_personal_and_shared() -> None:
    handled = [Handled(9, "vanthu@mic.gov.vn", is_clerk=False)]
    ref = resolve("Công việc", 1, "an@mic.gov.vn", handled)
    assert ref is not None and not ref.shared and ref.rights == OWNER_RIGHTS
    ref = resolve("Shared/vanthu@mic.gov.vn/INBOX", 1, "an@mic.gov.vn", handled)
    assert ref is not None and ref.shared and ref.owner_id == 9
    assert ref.folder_name == "INBOX" and ref.rights == HANDLER_RIGHTS
    assert ref.audit_id == "vanthu@mic.gov.vn/INBOX"
    assert resolve("Shared/vanthu@mic.gov.vn", 1, "an@mic.gov.vn", handled) is None
    assert resolve("Shared/other@mic.gov.vn/INBOX", 1, "an@mic.gov.vn", handled) is None
    assert Handled(9, "x", is_clerk=True).rights == CLERK_RIGHTS


def test_hierarchy_fills_in_levels_without_folders() -> None:
    own = [Folder(id=1, name="INBOX", subscribed=True), Folder(id=2, name="a/b/c", subscribed=True)]
    shared = [(Handled(9, "vanthu@mic.gov.vn", True), [Folder(id=5, name="INBOX")])]
    names = {e.name: e for e in hierarchy(1, "an@mic.gov.vn", own, shared, {5})}
    assert next(iter(names)) == "INBOX"
    assert names["a"].folder is None and names["a"].has_children
    assert names["a/b"].folder is None and names["a/b/c"].folder is not None
    assert names["Shared"].has_children and names["Shared/vanthu@mic.gov.vn"].has_children
    assert not names["Shared/vanthu@mic.gov.vn/INBOX"].subscribed  # unsubscribed by this user


def test_every_parsed_command_has_a_handler() -> None:
    import inspect

    from govmail.imap.protocol import commands
    from govmail.imap.session import HANDLERS

    kinds = [
        cls
        for cls in vars(commands).values()
        if inspect.isclass(cls)
        and issubclass(cls, commands.Command)
        and cls is not commands.Command
    ]
    assert kinds and [k.__name__ for k in kinds if k not in HANDLERS] == []
