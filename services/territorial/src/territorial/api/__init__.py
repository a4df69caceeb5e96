"""Territorial's HTTP API under /v1: thin routes that parse, authorize, call a handler.

Who may do what (every route also checks the territory of the data against the caller's):
- the DIVIPOLA catalogue: every role reads it; national staff may re-run its publication;
- microregions: national staff define them; every role reads those in its scope (an entity,
  the ones it operates);
- a municipality's records (Red Local, LBT, action plan, accountability, participation,
  complaints): its MUNICIPAL coordinator writes; national staff, its department and its
  municipality (coordinator and cogestores) read; a cogestor also files complaints;
- the departmental council: its DEPARTAMENTAL coordinator writes, national staff read;
- the capacity map: the municipality's readers, and any entity (ENTIDAD) everywhere.
"""

from juntos_web import v1_router

from territorial.api import catalogo, lbt, mapa, participacion, plan, red

router = v1_router()
for _modulo in (catalogo, red, lbt, mapa, plan, participacion):
    router.include_router(_modulo.router)
