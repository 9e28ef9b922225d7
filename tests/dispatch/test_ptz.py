"""The ISAPI driver against a local camera that requires digest authentication and checks
each request's method, path and (empty) body; and the cameras that refuse, fail or never
answer, each a clear error within the timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from dispatch.ptz import CameraError, CameraTimeout, IsapiDriver, PtzTarget, goto_preset
from tests.dispatch.isapi_camera import (
    FakeCamera,
    answering_camera,
    closed_port,
    fake_camera,
    silent_camera,
)


def _target(url: str, *, password: str = "Circle of Life", channel: int = 1) -> PtzTarget:
    return PtzTarget(
        camera_id="VC-007",
        driver="isapi",
        url=url,
        channel=channel,
        username="firewatch",
        password=password,
    )


def _requests(camera: FakeCamera) -> list[tuple[str, str, bytes, bool]]:
    return [(s.method, s.path, s.body, s.authorized) for s in camera.seen]


@pytest.mark.parametrize("algorithms", [("MD5",), ("MD5", "SHA-256")])
def test_goto_answers_the_digest_challenge_and_moves_the_camera(
    algorithms: tuple[str, ...],
) -> None:
    with fake_camera(algorithms=algorithms) as camera:
        IsapiDriver().goto_preset(_target(camera.url), 3, timeout_s=3.0)
    path = "/ISAPI/PTZCtrl/channels/1/presets/3/goto"
    assert _requests(camera) == [("PUT", path, b"", False), ("PUT", path, b"", True)]
    assert camera.moves == [(1, 3)]
    answered = camera.seen[1].authorization
    assert answered is not None
    # Of MD5 and SHA-256 offered, the stronger is answered.
    assert answered["algorithm"] == algorithms[-1]
    assert answered["opaque"] and answered["nc"] == "00000001"


def test_the_channel_is_the_cameras_own_and_a_trailing_slash_no_path() -> None:
    with fake_camera(channels=frozenset({2})) as camera:
        IsapiDriver().goto_preset(_target(camera.url + "/", channel=2), 9, timeout_s=3.0)
        assert camera.moves == [(2, 9)]
        with pytest.raises(CameraError, match=r"HTTP 403 \(Invalid Operation / invalidID\)"):
            IsapiDriver().goto_preset(_target(camera.url, channel=1), 9, timeout_s=3.0)


def test_a_wrong_password_is_refused_once_not_retried() -> None:
    with (
        fake_camera() as camera,
        pytest.raises(CameraError, match="refused the login of 'firewatch'") as refused,
    ):
        IsapiDriver().goto_preset(_target(camera.url, password="wrong"), 1, timeout_s=3.0)
    assert "/api/v1/cameras/VC-007/credentials" in str(refused.value)
    assert [s.authorized for s in camera.seen] == [False, False]  # two requests, no more
    assert camera.moves == []
    assert not isinstance(refused.value, CameraTimeout)


def test_a_preset_the_camera_lacks_is_its_own_refusal() -> None:
    with (
        fake_camera(presets=frozenset({1})) as camera,
        pytest.raises(CameraError, match=r"did not move to preset 7.*Invalid Operation"),
    ):
        IsapiDriver().goto_preset(_target(camera.url), 7, timeout_s=3.0)
    assert camera.moves == []


def test_a_camera_that_never_answers_times_out_within_the_deadline() -> None:
    with silent_camera() as url:
        started = time.monotonic()
        with pytest.raises(CameraTimeout, match="VC-007 did not answer"):
            IsapiDriver().goto_preset(_target(url), 1, timeout_s=0.5)
        assert time.monotonic() - started < 2.0


def test_the_async_goto_times_out_and_holds_the_event_loop_for_nothing() -> None:
    async def scenario(url: str) -> tuple[int, float]:
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(ticking())
        started = time.monotonic()
        with pytest.raises(CameraTimeout):
            await goto_preset(_target(url), 1, timeout_s=0.6)
        ticker.cancel()
        return ticks, time.monotonic() - started

    with silent_camera() as url:
        ticks, elapsed = asyncio.run(scenario(url))
    assert elapsed < 2.0
    assert ticks >= 5  # the loop kept running while the camera was awaited


def test_a_refused_connection_is_an_error_not_a_timeout() -> None:
    url = closed_port()
    with pytest.raises(CameraError, match=f"could not be reached at {url}") as failed:
        IsapiDriver().goto_preset(_target(url), 1, timeout_s=2.0)
    assert not isinstance(failed.value, CameraTimeout)


def test_a_camera_asking_for_a_login_we_cannot_give_says_so() -> None:
    with (
        fake_camera(algorithms=("SHA-512-256",)) as camera,
        pytest.raises(CameraError, match="asks for a login we cannot give"),
    ):
        IsapiDriver().goto_preset(_target(camera.url), 1, timeout_s=3.0)
    assert camera.moves == []


_CHALLENGE = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Digest "


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (_CHALLENGE + b'realm="r", nonce="n", qop="auth", stale\r\n\r\n', "refused the login"),
        (_CHALLENGE + b"foo\r\n\r\n", "asks for a login we cannot give"),
        (_CHALLENGE + b'realm="r", nonce="n", qop=\r\n\r\n', "asks for a login we cannot give"),
        (_CHALLENGE + b'realm="r", nonce="n", algorithm=\r\n\r\n', "asks for a login"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5025\r\n\r\n<statusCode>"
            + b"1" * 5000
            + b"</statusCode>",
            "did not move to preset 1: HTTP 200",
        ),
    ],
    ids=["bare-token", "no-pairs", "empty-qop", "empty-algorithm", "5000-digit-status"],
)
def test_a_camera_answering_nonsense_is_a_camera_error_not_a_crash(
    answer: bytes, said: str
) -> None:
    """Its challenge went through urllib's parse_keqv_list (ValueError on a bare token,
    IndexError on an empty value) and its statusCode through int() (ValueError past 4,300
    digits): a 500 from the goto route instead of its 502."""
    with answering_camera(answer) as url, pytest.raises(CameraError, match=said):
        IsapiDriver().goto_preset(_target(url), 1, timeout_s=3.0)
