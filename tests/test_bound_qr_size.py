"""A bound pass's code (token~time~signature) must still scan quickly: QR version at most 17
at level M for an Ed25519 phone key (a plain pass is 12). P-256, the fallback for browsers
without Ed25519, carries a second coordinate and is pinned where it stands."""

from __future__ import annotations

import pytest
from testkit.phones import Curve, Phone

from gymgate.binding import device_key
from gymgate.clock import FrozenClock
from gymgate.qr import qr_version
from gymgate.runtime import Runtime
from gymgate.settings import Settings

# Every id and timestamp in a pass has a fixed length, so these are exact, not typical.
PLAIN_VERSION = 12
ED25519_VERSION = 17
P256_VERSION = 19


async def shown_code(runtime: Runtime, phone: Phone | None, clock: FrozenClock) -> str:
    payment = await runtime.payments.create(email="ana@example.com", name=None, simulate=None)
    device = None if phone is None else device_key(phone.jwk)
    issued = await runtime.passes.issue(payment.payment_id, device)
    if phone is None:
        return issued.token
    return phone.show(issued.token, issued.pass_id, clock.now())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("curve", "version"),
    [(None, PLAIN_VERSION), ("Ed25519", ED25519_VERSION), ("P-256", P256_VERSION)],
)
async def test_a_bound_pass_code_fits_its_qr_version(
    settings: Settings, clock: FrozenClock, curve: Curve | None, version: int
) -> None:
    mode = "none" if curve is None else "device"
    async with Runtime.open(settings.replace(binding_mode=mode), clock=clock) as runtime:
        phone = None if curve is None else Phone(curve)
        code = await shown_code(runtime, phone, clock)

    assert qr_version(code) == version
