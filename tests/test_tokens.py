"""The token format as data: with a fixed key and nonce a token's text is fixed, so any change to how tokens
are sealed is a deliberate one (docs/contract.md R15's look: ``Atza|IwEBI…``; the seed's ``Atc|MAEBI…``); and
every token that is not exactly one this minter made reads as nothing."""

from __future__ import annotations

import base64

import pytest

from pytest_lwa import tokens
from pytest_lwa.tokens import TokenClaims, TokenMinter

KEY = b"k" * 32
CLIENT = TokenClaims("Atc|", "cid", "profile", 1000.0, 4600.0)
USER = TokenClaims("Atza|", "cid", "profile", 1000.0, 4600.0, "amzn1.account.U")
REFRESH = TokenClaims("Atzr|", "cid", "profile", 1000.0, None, "amzn1.account.U", True)
GOLDEN = {
    CLIENT: (
        "Atc|MAEBIAABAgMEBQYHCAkKCxWegd_KpSchpmnPPPeZWSOVORARuRCAq2fQmugWgwaFp4FmUz01m618EcS96_2FmSgG77hcyLiw"
        "mIqo1qmhyPfZCzvcPdfXppS211WkAUgmrWwG8htWHLcXfk2-CNZzu6jYGeAdEaoSFhgW5bacDCGNeyvxTfiLQzKs9ZJ6xNcvQ1r5"
        "0ITu-PonkqWKPCdIyHcshbBolfW4GV5x5PmaHlFKanI4IxDhyWYTS2glkC6OO2204EpO04UCzIZFaPGkK3iDzasPOHs3qSjLFycH"
        "mp1lYB8noYHZO6fVPZyzzHnIuwlaoeLwDffvtig-4SPdHaqiA7uPY2bKE0bm5-c"
    ),
    USER: (
        "Atza|IwEBIAABAgMEBQYHCAkKCxWegd_KpSchpmnPPPeZWSOVORARuRCAq2fQmugWgwbJs4BwEWp6lr16I5Hzv_PwmyRArvQPjcW"
        "wmIqo1qmhyPfZCzvcPdfXppS211WkAUgmrWwG8htWHLcXfk2-CNZzu6jYGeAdEaoSFhgW5bacDCGNeyvxTfiLQzKs9ZJ6xNcvQ1r"
        "50ITu-PonkqWKPCdIyHcshbBolfW4GV5x5PmaHlFKanI4IxDhyWYTS2glkC6OO2204EpO04UCzIZFaPGkK3iDzasPOHs3qSjLFyc"
        "Hmp1lYB8noYHZO6fVPZyzzHnIuwlaoeLwDffvtig-4Rzaes_ispc7tmy7oxD30-M"
    ),
    REFRESH: (
        "Atzr|IwEBIAABAgMEBQYHCAkKCxWegd_KpSchpmnPPPeZWSOVORARuRCAqz2TxrQUkUuGqIM7UTo3lLFsIpCznv-JzXpTqsVcyLi"
        "wmIqo1qmhyPfZCzvcPdfXppS211WkAUgmrWwG8htWHLcXfk2-CNZzu6jYGeAdEaoSFhgW5bacDCGNeyvxTfiLQzKs9ZJ6xNcvQ1r"
        "50ITu-PonkqWKPCdIyHcshbBolfW4GV5x5PmaHlFKanI4IxDhyWYTS2glkC6OO2204EpO04UCzIZFaPGkK3iDzasPOHs3qSjLFyc"
        "Hmp1lYB8noYHZO6fVPZyzzHnIuwlaoeLwDffvtig-4ZFESDG-oeNvpnmWuXfqXbM"
    ),
}


@pytest.fixture
def fixed_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "unique_bytes", lambda n: bytes(range(n)))


@pytest.mark.usefixtures("fixed_nonce")
@pytest.mark.parametrize("claims", list(GOLDEN), ids=["Atc", "Atza", "Atzr"])
def test_a_token_is_a_function_of_key_nonce_and_claims(claims: TokenClaims) -> None:
    minted = TokenMinter(KEY).mint(claims)
    assert minted == GOLDEN[claims]
    assert TokenMinter(KEY).read(minted) == claims


def test_lengths_and_look() -> None:
    minter = TokenMinter()
    user, refresh, client = minter.mint(USER), minter.mint(REFRESH), minter.mint(CLIENT)
    assert (len(user), len(refresh), len(client)) == (tokens.TOKEN_LENGTH, tokens.TOKEN_LENGTH, 363)
    assert user.startswith("Atza|IwEBI")
    assert refresh.startswith("Atzr|IwEBI")
    assert client.startswith("Atc|MAEBI")  # as the seed's sample token (docs/contract.md R15)
    assert user != minter.mint(USER)  # a new nonce each time
    long = TokenClaims("Atza|", "cid", " ".join(["scope"] * 100), 0.0, 1.0, "u")
    assert minter.read(minter.mint(long)) == long  # claims longer than the padding still fit


def test_anything_else_reads_as_nothing() -> None:
    minter = TokenMinter(KEY)
    token = minter.mint(USER)
    encoded = token[len("Atza|") :]
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    tampered = bytearray(raw)
    tampered[-1] ^= 1
    for other in [
        "",
        "Atza|",
        "Bearer " + token,
        "Atzr|" + encoded,  # the prefix is sealed too
        token + "A",
        token[:-1],
        "Atza|" + encoded[:10] + "!" + encoded[10:],  # a character base64 skips
        "Atza|" + base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode(),
        "Atza|" + base64.urlsafe_b64encode(raw[:32]).rstrip(b"=").decode(),  # no room for claims
        "Atza|" + base64.urlsafe_b64encode(raw[:4]).rstrip(b"=").decode(),
        TokenMinter().mint(USER),  # another key
    ]:
        assert minter.read(other) is None, other
    assert minter.read(token) == USER
