# One image for the five services (a uv workspace); SERVICE picks which one a container runs.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv
WORKDIR /app
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
# workspace member (the partner example, a dev dependency only): uv resolves the workspace whole
COPY examples ./examples
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
WORKDIR /app
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 juntos
USER juntos
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn ${SERVICE}.main:create_app --factory --host 0.0.0.0 --port 8000"]
