"""`decode`'s direct path gives exactly what the CloudEvents SDK gives, and refuses the same."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from cloudevents.core.bindings.kafka import from_binary_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent
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


@registry.register("Detallado", version=2)
class Detallado(DomainEvent):
    """Every kind of value events carry: text, big ints, floats, dates, lists, nulls."""

    familia: str
    texto: str
    n: int
    x: float
    dia: date
    cuando: datetime
    logros: list[str]
    nota: str | None


def _por_el_sdk_encode(evento: DomainEvent, event_id: str, stream: str, t: datetime) -> object:
    """What `encode` wrote when it built the SDK's CloudEvent: the reference it must equal."""
    name, version = evento.event_type, evento.schema_version
    ce = CloudEvent(
        attributes={
            "id": event_id,
            "source": registry.source,
            "type": registry.ce_type(name),
            "subject": stream,
            "time": t,
            "datacontenttype": "application/json",
            "dataschema": f"urn:juntos:schema:envelopetest:{name}:v{version}",
            "schemaversion": version,
            "partitionkey": stream,
        },
        data=evento.model_dump(mode="json"),
    )
    return to_binary_event(ce)


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


@given(n=st.integers(min_value=-(10**40), max_value=10**40))
def test_both_paths_keep_integers_beyond_64_bits_exact(n: int) -> None:
    """A partner's number never turns into a float on one path and an int on the other."""
    headers = _mensaje()[0]
    cuerpo = f'{{"familia": "f", "texto": "x", "n": {n}}}'.encode()
    directo = _directo(headers, cuerpo)
    assert directo is not None
    assert directo.data["n"] == n and type(directo.data["n"]) is int
    assert directo == _por_el_sdk(headers, b"f", cuerpo)


detallados = st.builds(
    Detallado,
    familia=st.text(min_size=1, max_size=10),
    texto=st.text(max_size=30),
    n=st.integers(min_value=-(10**30), max_value=10**30),
    x=st.floats(allow_nan=False, allow_infinity=False),
    dia=st.dates(),
    cuando=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    logros=st.lists(st.text(max_size=5), max_size=5),
    nota=st.none() | st.text(max_size=10),
)


@given(
    evento=detallados,
    t=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    stream=st.text(min_size=1, max_size=20),
)
def test_encode_writes_what_the_sdk_writes(evento: Detallado, t: datetime, stream: str) -> None:
    """Same headers, same key, the same JSON; the SDK reads it back as the same event."""
    mensaje = encode(registry, evento, event_id="e-9", stream_id=stream, occurred_at=t)
    referencia = _por_el_sdk_encode(evento, "e-9", stream, t)
    assert mensaje.headers == referencia.headers  # type: ignore[attr-defined]
    assert mensaje.key == referencia.key  # type: ignore[attr-defined]
    assert json.loads(mensaje.value) == json.loads(referencia.value)  # type: ignore[attr-defined]
    leido = from_binary_event(mensaje)
    assert (leido.get_id(), leido.get_subject(), leido.get_time()) == ("e-9", stream, t)
    assert registry.load("Detallado", 2, leido.get_data()) == evento


def test_encode_refuses_a_time_without_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        encode(
            registry,
            Anotado(familia="f", texto="x", n=1),
            event_id="e",
            stream_id="f",
            occurred_at=datetime(2009, 1, 1),
        )


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
