"""govmail dkim …: the DKIM signing keys of the domains hosted here."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from govmail.cli.output import fail, ok
from govmail.cli.runtime import Runtime, cli_actor, run
from govmail.delivery.dkim_sign import (
    KEY_SIZES,
    DkimKeyError,
    dns_record_name,
    dns_txt_record,
    generate_key,
    public_key_b64,
    txt_strings,
    valid_selector,
    zone_line,
)
from govmail.i18n import t
from govmail.store.models import utcnow

app = typer.Typer(help="Khóa ký DKIM / DKIM signing keys.", no_args_is_help=True)
JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@dataclass
class _Key:
    domain: str
    selector: str | None
    private_pem: str | None


def default_selector() -> str:
    """A dated selector (gm202506): a new key gets a new name, so the old record can
    stay published while mail signed with the old key is still in flight."""
    return f"gm{utcnow():%Y%m}"


def _print_record(domain: str, selector: str, public_b64: str, message: str, as_json: bool) -> None:
    if as_json:
        value = dns_txt_record(public_b64)
        json.dump(
            {
                "domain": domain,
                "selector": selector,
                "name": dns_record_name(selector, domain).rstrip("."),
                "type": "TXT",
                "value": value,
                "strings": txt_strings(value),
                "zone_line": zone_line(selector, domain, public_b64),
            },
            sys.stdout,
            ensure_ascii=False,
            indent=1,
        )
        sys.stdout.write("\n")
        return
    ok(message)
    # Plain output: the line is meant to be copied into a zone file as it is.
    typer.echo(zone_line(selector, domain, public_b64))


@app.command("generate")
def generate(
    domain: str,
    selector: Annotated[
        str | None, typer.Option(help="DNS selector (default: gm<year><month>).")
    ] = None,
    bits: Annotated[int, typer.Option(help="RSA key size in bits.")] = 2048,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the domain's existing key.")
    ] = False,
    as_json: JSON = False,
) -> None:
    """Create a DKIM key for a domain, store it, and print the DNS record to publish."""
    sel = (selector or default_selector()).strip().lower()
    if not valid_selector(sel):
        fail(t("cli.dkim.bad_selector", selector=sel))
        raise typer.Exit(2)
    if bits not in KEY_SIZES:
        fail(t("cli.dkim.bad_bits", sizes=", ".join(str(b) for b in KEY_SIZES)))
        raise typer.Exit(2)
    private_pem, public_b64 = generate_key(bits)

    async def go(rt: Runtime) -> tuple[_Key, bool]:
        async with rt.directory.ops(cli_actor()) as ops:
            d = await ops.domain(domain)
            if d.dkim_private_key and not force:
                return _Key(d.name, d.dkim_selector, None), False
            d = await ops.set_dkim_key(d.name, sel, private_pem)
            return _Key(d.name, d.dkim_selector, None), True

    key, stored = run(go)
    if not stored:
        fail(t("cli.dkim.key_exists", domain=key.domain, selector=key.selector or "?"))
        raise typer.Exit(1)
    message = t("cli.dkim.stored", bits=bits, domain=key.domain, selector=sel)
    _print_record(key.domain, sel, public_b64, message, as_json)


@app.command("show")
def show(domain: str, as_json: JSON = False) -> None:
    """Print the DNS record that publishes a domain's DKIM key."""

    async def go(rt: Runtime) -> _Key:
        async with rt.directory.reader() as ops:
            d = await ops.domain(domain)
            return _Key(d.name, d.dkim_selector, d.dkim_private_key)

    key = run(go)
    if not key.private_pem or not key.selector:
        fail(t("cli.dkim.no_key", domain=key.domain))
        raise typer.Exit(1)
    try:
        public_b64 = public_key_b64(key.private_pem)
    except DkimKeyError as exc:
        fail(t("cli.dkim.bad_key", domain=key.domain, error=exc))
        raise typer.Exit(1) from exc
    message = t("cli.dkim.publish", domain=key.domain, selector=key.selector)
    _print_record(key.domain, key.selector, public_b64, message, as_json)
