"""Import of SISBEN and RUPD files through the API, against a real PostgreSQL."""

from __future__ import annotations

import httpx
from enrollment.registros import columnas
from enrollment.vocabulario import Registro
from fastapi import FastAPI
from juntos_web import Role

from .conftest import como, importar_muestra


async def familias(client: httpx.AsyncClient, app: FastAPI) -> list[dict]:
    r = await client.get("/v1/familias?limite=500", headers=como(app, Role.NACIONAL))
    assert r.status_code == 200
    return r.json()["items"]


async def test_good_households_are_imported_and_every_bad_row_is_reported(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    resultado = await importar_muestra(client, app, "SISBEN")
    resumen = resultado["resumen"]
    assert resultado["estado"] == "TERMINADA"
    assert resumen["filas"] == 13
    assert resumen["filas_validas"] == 10
    assert resumen["hogares_nuevos"] == 4
    rechazos = {r["linea"]: r for r in resultado["rechazos"]}
    assert set(rechazos) == {9, 10, 11, 13}
    assert "only level 1 is eligible" in rechazos[9]["motivo"]
    assert "tipo_documento" in rechazos[11]["motivo"]
    assert "municipio" in rechazos[11]["motivo"]
    assert rechazos[13]["motivo"] == "duplicate of line 12"
    # reasons name columns, never the values (they may be personal data)
    assert all(
        "Julia" not in r["motivo"] and "5005001" not in r["motivo"] for r in rechazos.values()
    )
    por_municipio = sorted((f["municipio"], f["integrantes"]) for f in await familias(client, app))
    assert por_municipio == [("05001", 2), ("05001", 2), ("05001", 3), ("05002", 2)]


async def test_reimporting_the_same_file_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await importar_muestra(client, app, "SISBEN")
    antes = await familias(client, app)
    otra = await importar_muestra(client, app, "SISBEN")
    assert otra["resumen"]["hogares_nuevos"] == 0
    assert otra["resumen"]["hogares_sin_cambios"] == 4
    assert await familias(client, app) == antes


async def test_a_household_in_both_registries_is_one_family_marked_displaced(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await importar_muestra(client, app, "SISBEN")
    rupd = await importar_muestra(client, app, "RUPD")
    assert rupd["resumen"]["hogares_nuevos"] == 1
    assert rupd["resumen"]["hogares_actualizados"] == 1
    todas = await familias(client, app)
    assert len(todas) == 5
    ramirez = [f for f in todas if f["registros"] == ["RUPD", "SISBEN"]]
    assert len(ramirez) == 1 and ramirez[0]["desplazada"] and ramirez[0]["integrantes"] == 3
    again = await importar_muestra(client, app, "RUPD")
    assert again["resumen"]["hogares_sin_cambios"] == 2


async def test_a_household_with_a_bad_row_is_not_half_imported(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    cabecera = (
        "hogar,tipo_documento,numero_documento,primer_nombre,primer_apellido,fecha_nacimiento,"
        "sexo,parentesco,municipio,nivel_sisben\n"
    )
    cuerpo = (
        cabecera
        + "H1,CC,111222,Ana,Paz,1980-01-01,M,JEFE,05001,1\n"
        + "H1,TI,111333,Leo,Paz,2030-01-01,H,HIJO,05001,1\n"
        + "H2,CC,444555,Eva,Luz,1970-01-01,M,JEFE,76001,1\n"
    )
    r = await client.post(
        "/v1/importaciones/SISBEN",
        content=cuerpo.encode(),
        headers={"content-type": "text/csv", **como(app, Role.NACIONAL)},
    )
    assert r.status_code == 200, r.text
    rechazos = {x["linea"]: x["motivo"] for x in r.json()["rechazos"]}
    assert "fecha_nacimiento" in rechazos[3]
    assert "rejected rows" in rechazos[2]
    assert [f["municipio"] for f in await familias(client, app)] == ["76001"]


async def test_ndjson_is_accepted_and_a_wrong_header_imports_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    fila = (
        '{"hogar":"N1","tipo_documento":"CC","numero_documento":"909090","primer_nombre":"Iris",'
        '"primer_apellido":"Sol","fecha_nacimiento":"1990-02-02","sexo":"M","parentesco":"JEFE",'
        '"municipio":"05001","fecha_declaracion":"2008-01-01"}\n'
    )
    r = await client.post(
        "/v1/importaciones/RUPD",
        content=(fila + "not json\n").encode(),
        headers={"content-type": "application/x-ndjson", **como(app, Role.NACIONAL)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["resumen"]["hogares_nuevos"] == 1
    assert r.json()["rechazos"][0]["linea"] == 2
    malo = await client.post(
        "/v1/importaciones/SISBEN",
        content=b"hogar,nombre\nX,Y\n",
        headers={"content-type": "text/csv", **como(app, Role.NACIONAL)},
    )
    assert malo.status_code == 422
    assert malo.headers["content-type"] == "application/problem+json"
    assert "missing columns" in malo.json()["detail"]
    assert len(await familias(client, app)) == 1


async def test_only_the_designated_entity_may_import_a_registry(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for entidad, registro, esperado in (
        ("dnp", "SISBEN", 200),
        ("uariv", "SISBEN", 403),
        ("uariv", "RUPD", 200),
        ("icbf", "RUPD", 403),
    ):
        r = await client.post(
            f"/v1/importaciones/{registro}",
            content=(",".join(columnas(Registro(registro))) + "\n").encode(),
            headers={"content-type": "text/csv", **como(app, Role.ENTIDAD, entidad)},
        )
        assert r.status_code == esperado, (
            entidad,
            registro,
            r.text,
        )


async def test_a_reused_import_id_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    cabecera = (",".join(columnas(Registro.RUPD)) + "\n").encode()
    url = "/v1/importaciones/RUPD?importacion_id=5e53c731-41d7-46cc-80dd-7d5b6321724a"
    headers = {"content-type": "text/csv", **como(app, Role.NACIONAL)}
    assert (await client.post(url, content=cabecera, headers=headers)).status_code == 200
    again = await client.post(url, content=cabecera, headers=headers)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
