"""`decode`'s direct path gives exactly what the CloudEvents SDK gives, and refuses the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from juntos_events.envelope import MalformedEnvelope, _directo, _por_el_sdk, decode, encode
from juntos_events.events import DomainEvent, EventRegistry

registry = EventRegistry("envelopetest")


@registry.register("Anotado")
class Anotado(DomainEvent):
    familia: str
    texto: str
    n: int


def _mensaje(
    t: datetime = datetime(2009, 1, 1, tzinfo=UTC), texto: str = "x", stream: str = "f"
) -> tuple[dict[str, bytes], bytes]:
    """Headers (with the relay's traceparent) and body, as published."""
    evento = Anotado(familia=stream, texto=texto, n=3)
    mensaje = encode(registry, evento, event_id="e-1", stream_id=stream, occurred_at=t)
    traceparent = b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"
    return {**mensaje.headers, "traceparent": traceparent}, mensaje.value


instantes = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(t=instantes, texto=st.text(max_size=30), stream=st.text(min_size=1, max_size=20))
def test_the_direct_path_equals_the_sdk(t: datetime, texto: str, stream: str) -> None:
    headers, cuerpo = _mensaje(t, texto, stream)
    directo = _directo(headers, cuerpo)
    assert directo is not None
    assert directo == _por_el_sdk(headers, stream.encode(), cuerpo)
    assert directo.time == t


def test_a_time_with_an_offset_is_the_same_instant() -> None:
    bogota = timezone(timedelta(hours=-5))
    t = datetime(2009, 5, 4, 12, 30, tzinfo=bogota)
    headers, cuerpo = _mensaje(t)
    assert decode(list(headers.items()), b"f", cuerpo).time == t


@pytest.mark.parametrize(
    ("cambio", "cuerpo"),
    [
        ({"ce_specversion": b"9.9"}, None),
        ({"ce_id": b""}, None),
        ({"ce_type": b"org.example.Otro"}, None),
        ({"ce_time": b"yesterday"}, None),
        ({}, b"[1, 2]"),
        ({}, b"{not json"),
    ],
)
def test_what_the_sdk_refuses_is_still_refused(cambio: dict, cuerpo: bytes | None) -> None:
    headers, publicado = _mensaje()
    with pytest.raises(MalformedEnvelope):
        decode(list({**headers, **cambio}.items()), b"f", publicado if cuerpo is None else cuerpo)


def test_a_valid_cloudevent_of_another_shape_goes_through_the_sdk() -> None:
    """A partner's tool may write `application/json; charset=utf-8`: still a valid event."""
    headers, cuerpo = _mensaje()
    headers["content-type"] = b"application/json; charset=utf-8"
    assert _directo(headers, cuerpo) is None
    envelope = decode(list(headers.items()), b"f", cuerpo)
    assert (envelope.event_type, envelope.data["texto"]) == ("Anotado", "x")
