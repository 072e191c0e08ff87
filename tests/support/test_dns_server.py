from govmail.delivery.dns import MxHost, Resolver
from tests.support.dns_server import running


async def test_resolver_against_loopback_server() -> None:
    zone = {
        ("phuyen.gov.vn", "MX"): ["20 mx2.phuyen.gov.vn.", "10 mx1.phuyen.gov.vn."],
        ("mx1.phuyen.gov.vn", "A"): ["127.0.0.2"],
        ("mx1.phuyen.gov.vn", "AAAA"): ["::1"],
        ("phuyen.gov.vn", "TXT"): ["v=spf1 ip4:127.0.0.0/8 -all", "x" * 600],
    }
    with running(zone) as srv:
        r = Resolver(["127.0.0.1"], srv.port, timeout=2)
        assert await r.mx("phuyen.gov.vn") == [
            MxHost(10, "mx1.phuyen.gov.vn"),
            MxHost(20, "mx2.phuyen.gov.vn"),
        ]
        assert await r.addresses("mx1.phuyen.gov.vn") == ["127.0.0.2", "::1"]
        assert sorted(await r.txt("phuyen.gov.vn")) == sorted(
            ["v=spf1 ip4:127.0.0.0/8 -all", "x" * 600]
        )
        assert await r.mx("nowhere.gov.vn") == []
        assert await r.addresses("phuyen.gov.vn") == []
