"""The receptive-agent key pair: RFC 8032's test vectors for public key derivation."""

from __future__ import annotations

import pytest

from kasboot.sandbox.gitlab import ed25519


@pytest.mark.parametrize(
    ("seed", "public"),
    [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        ),
    ],
)
def test_public_key_matches_rfc8032(seed: str, public: str) -> None:
    assert ed25519.public_key(bytes.fromhex(seed)).hex() == public


def test_generate_gives_matching_pair() -> None:
    seed, public = ed25519.generate()
    assert len(seed) == 32 and ed25519.public_key(seed) == public
