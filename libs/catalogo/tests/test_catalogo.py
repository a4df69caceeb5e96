"""The shipped catalog holds what the program defines: 45 LB, 22 CBT, 9 dimensions + 1 category."""

from juntos_catalogo import catalogo


def test_catalog_counts_match_the_program():
    c = catalogo()
    assert len(c.logros_basicos) == 45
    assert [lb.numero for lb in c.logros_basicos] == list(range(1, 46))
    assert len(c.condiciones_basicas_territoriales) == 22
    assert len(c.dimensiones) == 10  # nine dimensions plus the displaced-population category
    assert sum(len(c.logros_de(d.codigo)) for d in c.dimensiones) == 45


def test_lookups_and_figures():
    c = catalogo()
    assert c.logro("LB2").dimension == "IDENTIFICACION"
    assert "libreta militar" in c.logro("LB2").texto
    assert c.dimension("SALUD").numero == 4
    assert (
        c.cifras.familias_sisben_1_con_acompanamiento
        + c.cifras.familias_desplazadas_con_acompanamiento
        == (c.cifras.familias_con_acompanamiento_iniciado)
    )
    per_dpto = dict(c.cifras.cogestores_por_departamento)
    total = per_dpto.pop("total_general")
    assert per_dpto["Antioquia"] == 849 and total == 7682
