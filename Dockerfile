# Production image of Permanence: the console + call gateway (`permanence serve`) and the LiveKit worker.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox libsndfile1 curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 permanence
WORKDIR /app
COPY pyproject.toml README.md ./
COPY practice ./practice
COPY agent ./agent
COPY escalation ./escalation
COPY console ./console
COPY prompts ./prompts
RUN pip install --no-cache-dir .

# A French Piper voice is fetched at build time in production images (none ships in the registries):
# pass PIPER_VOICE_URL to bake one in; without it the agent speaks French with espeak-ng.
ARG PIPER_VOICE_URL=""
RUN mkdir -p /voices && if [ -n "$PIPER_VOICE_URL" ]; then \
      curl -fsSL "$PIPER_VOICE_URL" -o /voices/fr.onnx && curl -fsSL "$PIPER_VOICE_URL.json" -o /voices/fr.onnx.json; \
    fi

USER permanence
ENV PERMANENCE_DATA_DIR=/home/permanence/data
# 8000: console + media-stream gateway; 8081: health of the LiveKit worker (`python -m agent start`)
EXPOSE 8000 8081
CMD ["permanence", "serve", "--host", "0.0.0.0", "--port", "8000"]
