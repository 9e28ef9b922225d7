"""Digest authentication against the published examples: RFC 2617 section 3.5, RFC 7616
section 3.9.1 (MD5 and SHA-256), and curl's SHA-256 test without qop (test 2061)."""

from __future__ import annotations

import hashlib
import re

from dispatch.digest import Challenge, authorization, choose, parse

RFC7616 = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _fields(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    return {
        k: v.strip('"')
        for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,]+)', header[len("Digest ") :])
    }


def test_rfc_2617_example() -> None:
    challenge = parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge is not None and challenge.qop and challenge.algorithm == "MD5"
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    fields = _fields(header)
    assert fields["response"] == "6629fae49393a05397450978507c4ef1"
    assert (fields["qop"], fields["nc"], fields["cnonce"]) == ("auth", "00000001", "0a4f113b")
    assert fields["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"
    assert fields["uri"] == "/dir/index.html" and fields["username"] == "Mufasa"


def test_rfc_7616_examples_md5_and_sha256() -> None:
    expected = {
        "MD5": "8ca523f5e9506fed4657c9700eebdbec",
        "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    }
    for algorithm, response in expected.items():
        challenge = parse(RFC7616.format(algorithm=algorithm))
        assert challenge is not None
        header = authorization(
            challenge,
            method="GET",
            uri="/dir/index.html",
            username="Mufasa",
            password="Circle of Life",
            cnonce=RFC7616_CNONCE,
        )
        fields = _fields(header)
        assert fields["response"] == response
        assert fields["algorithm"] == algorithm


def test_sha256_without_qop_as_curl_sends_it() -> None:
    challenge = parse('Digest realm="testrealm", nonce="1053604145", algorithm="SHA-256"')
    assert challenge is not None and not challenge.qop
    header = authorization(
        challenge, method="GET", uri="/2061", username="testuser", password="testpass", cnonce="x"
    )
    fields = _fields(header)
    assert fields["response"] == (
        "9dc55255f1a2537b838311674b621d45346b862a81631bb20e4ce356ef25062d"
    )
    assert "qop" not in fields and "cnonce" not in fields and "nc" not in fields


def test_the_strongest_challenge_we_can_answer_is_chosen() -> None:
    md5 = 'Digest realm="r", nonce="n1", qop="auth", algorithm=MD5'
    sha = 'Digest realm="r", nonce="n2", qop="auth", algorithm=SHA-256'
    chosen = choose([md5, sha, 'Basic realm="r"'])
    assert chosen is not None and (chosen.algorithm, chosen.nonce) == ("SHA-256", "n2")
    assert choose(['Basic realm="r"']) is None
    assert parse('Digest realm="r", nonce="n", algorithm=SHA-512-256') is None
    assert parse('Digest realm="r", nonce="n", qop="auth-int"') is None  # body hashing: no
    assert parse('Digest realm="r"') is None  # no nonce
    assert parse('DIGEST realm="r", nonce="n", algorithm=md5') == Challenge(
        realm="r", nonce="n", algorithm="md5"
    )


def test_session_variant_and_quoting() -> None:
    challenge = Challenge(realm='a "quoted" realm', nonce="n", algorithm="MD5-sess", qop=True)
    header = authorization(
        challenge, method="PUT", uri="/p", username='o"brien', password="pw", cnonce="c", nc=2
    )
    assert 'username="o\\"brien"' in header and 'realm="a \\"quoted\\" realm"' in header
    md5 = hashlib.md5  # the arithmetic written out again, RFC 7616 section 3.4.2
    inner = md5(b'o"brien:a "quoted" realm:pw').hexdigest()
    ha1 = md5(f"{inner}:n:c".encode()).hexdigest()
    ha2 = md5(b"PUT:/p").hexdigest()
    expected = md5(f"{ha1}:n:00000002:c:auth:{ha2}".encode()).hexdigest()
    assert f'response="{expected}"' in header and "nc=00000002" in header
